"""float32 vs bfloat16 (``MODELBAY_PRECISION``) for the torch text models, in one process.

Two models: the default sentiment model (its embedder is multilingual-e5-small on
modelbay's own torch engine) and the default embeddings model (MiniLM through
sentence-transformers, under ``torch.autocast``). Each is loaded once per precision and
measured in turns (so the machine's drift hits both alike):

* texts/s at batch 1 and batch 32 on the serving benchmark's texts;
* sentiment: accuracy and macro-F1 on the two held-out sets, the same rows for both;
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


def load(task: str, precision: str):
    from modelbay.core.loading import load_task
    from modelbay.core.settings import get_settings

    os.environ["MODELBAY_PRECISION"] = precision
    get_settings.cache_clear()
    return load_task(task)


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (ROOT / "data" / "eval" / f"{name}.jsonl").read_text().splitlines() if line.strip()]


def held_out(task, name: str) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    data = rows(name)
    predicted = [o.label for o in task([task.coerce(r["text"]) for r in data])]
    truth = [r["label"] for r in data]
    return accuracy_score(truth, predicted), f1_score(truth, predicted, average="macro")


def speeds(tasks: dict, seconds: float, rounds: int) -> dict[str, dict[int, float]]:
    """Median texts/s per precision and batch size, measured in turns."""
    runs: dict[str, dict[int, list[float]]] = {p: {1: [], 32: []} for p in tasks}
    for _ in range(rounds):
        for p, t in tasks.items():
            for batch in (1, 32):
                runs[p][batch].append(texts_per_second(t, batch, seconds))
    med = {p: {b: statistics.median(v) for b, v in runs[p].items()} for p in runs}
    print(f"{'':10s} {'batch 1':>12s} {'batch 32':>12s} {'batch-32 gain':>14s}")
    for p in tasks:
        print(f"{p:10s} {med[p][1]:8.1f} t/s {med[p][32]:8.1f} t/s {med[p][32] / med[p][1]:13.2f}x")
    print(f"{'ratio':10s} {med['bfloat16'][1] / med['float32'][1]:11.2f}x {med['bfloat16'][32] / med['float32'][32]:11.2f}x")
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="turns of (float32, bfloat16); medians are reported")
    args = parser.parse_args()
    from modelbay.core.loading import cpu_has_native_bf16

    print(f"machine: {machine()}; native bfloat16: {cpu_has_native_bf16()}")
    out: dict = {"machine": machine(), "native_bf16": cpu_has_native_bf16(), "seconds": args.seconds}

    print("\nsentiment (sentiment-e5-mlp: multilingual-e5-small on modelbay's torch engine + head)")
    tasks = {p: load("sentiment", p) for p in ("float32", "bfloat16")}
    engines = {p: t.backend.embedder.backend.model for p, t in tasks.items()}
    assert [e.precision for e in engines.values()] == ["float32", "bfloat16"]
    out["sentiment"] = {"speed": speeds(tasks, args.seconds, args.rounds)}
    for name in HELD_OUT:
        scores = {p: held_out(t, name) for p, t in tasks.items()}
        texts = [r["text"] for r in rows(name)]
        a, b = (engines[p].encode(texts, is_query=True) for p in tasks)
        cos = float((a * b).sum(1).min())
        out["sentiment"][name] = {"float32": scores["float32"], "bfloat16": scores["bfloat16"], "min_cosine": cos}
        print(f"{name}: accuracy / macro-F1 float32 {scores['float32'][0]:.3f} / {scores['float32'][1]:.3f}, "
              f"bfloat16 {scores['bfloat16'][0]:.3f} / {scores['bfloat16'][1]:.3f}; smallest embedding cosine {cos:.6f}")
    weights = {p: sum(t.nbytes for blk in e.blocks for k in ("qkv", "ao", "fi", "fo") for t in blk[k]) / 2**20
               for p, e in engines.items()}
    out["sentiment"]["layer_weights_mib"] = weights
    print(f"layer weights: float32 {weights['float32']:.0f} MiB, bfloat16 {weights['bfloat16']:.0f} MiB")
    del tasks, engines

    print("\nembeddings (all-minilm-l6-v2, sentence-transformers)")
    tasks = {p: load("embeddings", p) for p in ("float32", "bfloat16")}
    assert [t.backend.precision for t in tasks.values()] == ["float32", "bfloat16"]
    out["embeddings"] = {"speed": speeds(tasks, args.seconds, args.rounds)}
    texts = [r["text"] for name in HELD_OUT for r in rows(name)]
    a, b = (t.encode(texts) for t in tasks.values())
    cos = float((a * b).sum(1).min())
    out["embeddings"]["min_cosine"] = cos
    print(f"smallest cosine between the two precisions' embeddings of the {len(texts)} held-out texts: {cos:.6f}")
    save("precision", out)


if __name__ == "__main__":
    main()
