"""float32 vs bfloat16 for modelbay's own torch engine (multilingual-e5-small), in one process.

The default sentiment model embeds with multilingual-e5-small; ``MODELBAY_PRECISION``
(default ``auto``: bfloat16 where the CPU has it natively) sets the arithmetic of
its matrix products. This loads the model twice, once per precision, and measures
in turns (so the machine's drift hits both alike):

* texts/s at batch 1 and batch 32 on the serving benchmark's texts;
* accuracy and macro-F1 on the two held-out sentiment sets, the same rows for both;
* the smallest cosine between the two precisions' embeddings of those rows.

    python bench/precision.py [--seconds 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, machine, save
from serve_load import texts_per_second

HELD_OUT = ("sentiment_en_customer", "sentiment_zh_reviews")


def load(precision: str):
    from modelbay.core.loading import load_task
    from modelbay.core.settings import get_settings

    os.environ["MODELBAY_PRECISION"] = precision
    get_settings.cache_clear()
    return load_task("sentiment")


def held_out(task, name: str) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    rows = [json.loads(line) for line in (ROOT / "data" / "eval" / f"{name}.jsonl").read_text().splitlines() if line.strip()]
    predicted = [o.label for o in task([task.coerce(r["text"]) for r in rows])]
    truth = [r["label"] for r in rows]
    return accuracy_score(truth, predicted), f1_score(truth, predicted, average="macro")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="turns of (float32, bfloat16); medians are reported")
    args = parser.parse_args()
    from modelbay.core.loading import cpu_has_native_bf16

    print(f"machine: {machine()}; native bfloat16: {cpu_has_native_bf16()}")
    tasks = {p: load(p) for p in ("float32", "bfloat16")}
    engines = {p: t.backend.embedder.backend.model for p, t in tasks.items()}
    assert [e.precision for e in engines.values()] == ["float32", "bfloat16"]
    speed: dict[str, dict[int, list[float]]] = {p: {1: [], 32: []} for p in tasks}
    for _ in range(args.rounds):
        for p, t in tasks.items():
            for batch in (1, 32):
                speed[p][batch].append(texts_per_second(t, batch, args.seconds))
    out: dict = {"machine": machine(), "native_bf16": cpu_has_native_bf16(), "seconds": args.seconds, "speed": speed}
    med = {p: {b: statistics.median(v) for b, v in speed[p].items()} for p in speed}
    print(f"\n{'':10s} {'batch 1':>12s} {'batch 32':>12s} {'batch-32 gain':>14s}")
    for p in tasks:
        print(f"{p:10s} {med[p][1]:8.1f} t/s {med[p][32]:8.1f} t/s {med[p][32] / med[p][1]:13.2f}x")
    print(f"{'ratio':10s} {med['bfloat16'][1] / med['float32'][1]:11.2f}x {med['bfloat16'][32] / med['float32'][32]:11.2f}x")
    print()
    for name in HELD_OUT:
        scores = {p: held_out(t, name) for p, t in tasks.items()}
        texts = [json.loads(line)["text"] for line in (ROOT / "data" / "eval" / f"{name}.jsonl").read_text().splitlines()
                 if line.strip()]
        a, b = (engines[p].encode(texts, is_query=True) for p in tasks)
        cos = float((a * b).sum(1).min())
        out[name] = {"float32": scores["float32"], "bfloat16": scores["bfloat16"], "min_cosine": cos}
        print(f"{name}: accuracy / macro-F1 float32 {scores['float32'][0]:.3f} / {scores['float32'][1]:.3f}, "
              f"bfloat16 {scores['bfloat16'][0]:.3f} / {scores['bfloat16'][1]:.3f}; smallest embedding cosine {cos:.6f}")
    weights = {p: sum(t.nbytes for blk in e.blocks for k in ("qkv", "ao", "fi", "fo") for t in blk[k]) / 2**20
               for p, e in engines.items()}
    out["layer_weights_mib"] = weights
    print(f"layer weights: float32 {weights['float32']:.0f} MiB, bfloat16 {weights['bfloat16']:.0f} MiB")
    save("precision", out)


if __name__ == "__main__":
    main()
