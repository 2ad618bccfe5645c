"""Few-shot text classification, SetFit-style (Tunstall et al. 2022): 8–64 labelled examples per class.

Two steps, as in the SetFit paper:

1. **Contrastive fine-tuning of the sentence encoder.** Each example is paired
   ``pairs_per_example`` times with an example of the same label (target cosine 1) and as
   many times with one of another label (target 0); the encoder (mean pooling, L2-normalised)
   is trained on these pairs with the cosine-similarity loss. From 16 examples this makes a few
   hundred pairs, which is why so few examples are enough.
2. **A logistic-regression head** (scikit-learn) on the fine-tuned embeddings of the examples.

Written here rather than taken from the ``setfit`` package (1.2.0): it would add ``datasets`` and
``evaluate`` (and what they pull in) for a trainer that works through ``datasets``, and it is not
known to work with the transformers 5 / sentence-transformers 6 that modelbay runs; the method
itself is this pair sampler and a ~20-line training loop.

The saved model directory: ``encoder/`` (transformers ``save_pretrained`` + tokenizer),
``setfit.json`` (format, labels, query prefix, max length), ``head.npz`` (``W0``, ``b0``) and
``model_card.json``; ``SetFitClassifier`` (``setfit_model.py``) runs it.

>>> recs = [{"text": "love it", "label": "pos"}, {"text": "hate it", "label": "neg"}] * 8
>>> card = train_setfit(recs, "/tmp/fewshot", SetFitConfig(base="multilingual-e5-small"))   # doctest: +SKIP
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...ml.fingerprint import data_fingerprint
from ...ml.model_dir import atomic_model_dir, utc_timestamp, write_card, write_json
from .finetune_config import resolve_base
from .head import check_records
from .setfit_model import FORMAT, SetFitEncoder

__all__ = ["SetFitConfig", "contrastive_pairs", "train_setfit"]

MAX_EXAMPLES_PER_CLASS_HINT = 256  # beyond this, method=head or method=finetune trains faster for the same accuracy


@dataclass
class SetFitConfig:
    """What to train. The defaults are the SetFit paper's, sized for a CPU."""

    base: str = "multilingual-e5-small"  # catalog name, transformers checkpoint directory, or hub id (local cache only)
    pairs_per_example: int = 20          # SetFit's num_iterations: positive and negative pairs drawn per example
    epochs: int = 1
    batch_size: int = 16                 # pairs per optimizer step
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    max_length: int = 128                # tokens per text; longer texts are cut
    prefix: str = "auto"                 # text put before every input; "auto": "query: " for E5 bases, else none
    head_c: float = 1.0                  # inverse L2 strength of the logistic-regression head
    train_embeddings: bool = False       # also update the token-embedding matrix (most of a multilingual encoder's
                                         # weights: 96M of E5-small's 118M); frozen, a step is ~3x cheaper on a CPU
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("pairs_per_example", "epochs", "batch_size", "max_length"):
            if int(getattr(self, name)) < 1:
                raise BadInput(f"training option {name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0 or not self.head_c > 0:
            raise BadInput("training options learning_rate and head_c must be > 0")


def contrastive_pairs(labels: list[str], pairs_per_example: int, seed: int) -> list[tuple[int, int, float]]:
    """``(i, j, target)`` index pairs: per example, ``pairs_per_example`` same-label partners (1.0) and as many others (0.0)."""
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    pairs = []
    for i, label in enumerate(labels):
        same = [j for j in by_label[label] if j != i] or [i]
        other = [j for lab, idx in by_label.items() if lab != label for j in idx]
        for _ in range(pairs_per_example):
            pairs.append((i, rng.choice(same), 1.0))
            pairs.append((i, rng.choice(other), 0.0))
    rng.shuffle(pairs)
    return pairs


def train_setfit(records: list[dict], out_dir: str | Path, config: SetFitConfig | None = None, *,
                 name: str = "setfit-classifier", task: str = "text-classification", progress=False,
                 card_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train on ``records`` (``{"text", "label"}``, a few per class) and save the model in ``out_dir``; returns its card."""
    import numpy as np

    config = config or SetFitConfig()
    texts, labels, classes = check_records(records)
    counts = {c: labels.count(c) for c in classes}
    base_path, base_source = resolve_base(config.base)
    prefix = ("query: " if "e5" in Path(config.base).name.lower() else "") if config.prefix == "auto" else config.prefix
    encoder = SetFitEncoder.from_checkpoint(base_path, max_length=config.max_length, prefix=prefix)
    report = _reporter(progress)
    pairs = contrastive_pairs(labels, config.pairs_per_example, config.seed)
    t0 = time.perf_counter()
    losses = _contrastive_fit(encoder, texts, pairs, config, report)
    fit_s = time.perf_counter() - t0
    features = encoder.encode(texts)
    weights, bias = _logistic_head(features, np.array([classes.index(x) for x in labels]), config)
    train_acc = float(((features @ weights + bias).argmax(1) == np.array([classes.index(x) for x in labels])).mean())
    card = {
        "name": name, "task": task, "labels": classes, "format": FORMAT, "created": utc_timestamp(),
        "base": {"name": config.base, "found": base_source}, "options": {"backend": "setfit"},
        "data": {**data_fingerprint(records), "n_train": len(texts), "examples_per_class": counts},
        "config": asdict(config) | {"prefix": prefix},
        "training": {"pairs": len(pairs), "steps": len(losses), "contrastive_seconds": round(fit_s, 1),
                     "first_loss": round(losses[0], 5), "last_loss": round(float(np.mean(losses[-10:])), 5)},
        "metrics": {"training_accuracy": round(train_acc, 4)},
        "warnings": _size_warnings(counts),
    } | (card_extra or {})
    with atomic_model_dir(Path(out_dir)) as tmp:
        encoder.save(tmp / "encoder")
        write_json(tmp, "setfit.json", {"format": FORMAT, "labels": classes, "prefix": prefix, "max_length": config.max_length})
        np.savez(tmp / "head.npz", W0=weights.astype(np.float32), b0=bias.astype(np.float32))
        write_card(tmp, card)
    return card


def _contrastive_fit(encoder: SetFitEncoder, texts: list[str], pairs, config: SetFitConfig, report) -> list[float]:
    """The cosine-similarity loss over the pairs: MSE between cos(u, v) and the pair's target."""
    import torch

    torch.manual_seed(config.seed)
    model = encoder.model
    model.train()
    model.get_input_embeddings().weight.requires_grad_(config.train_embeddings)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=config.learning_rate, weight_decay=0.01)
    total = config.epochs * -(-len(pairs) // config.batch_size)
    warmup = max(1, int(total * config.warmup_ratio))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))))
    losses: list[float] = []
    for epoch in range(config.epochs):
        order = list(range(len(pairs)))
        random.Random(config.seed + epoch).shuffle(order)
        for start in range(0, len(order), config.batch_size):
            batch = [pairs[k] for k in order[start:start + config.batch_size]]
            left = encoder.embed([texts[i] for i, _, _ in batch])
            right = encoder.embed([texts[j] for _, j, _ in batch])
            target = torch.tensor([t for _, _, t in batch], dtype=left.dtype)
            loss = torch.nn.functional.mse_loss((left * right).sum(-1), target)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
            report("contrastive fine-tuning", len(losses), total)
    model.eval()
    model.get_input_embeddings().weight.requires_grad_(True)
    return losses


def _logistic_head(features, y, config: SetFitConfig):
    """scikit-learn logistic regression as ``(W, b)`` shaped ``(dim, classes)`` and ``(classes,)``."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=config.head_c, max_iter=2000, random_state=config.seed).fit(features, y)
    if clf.coef_.shape[0] == 1:  # binary: scikit-learn keeps one row; softmax over (-z/2, z/2) is the same sigmoid
        coef, intercept = np.vstack([-clf.coef_ / 2, clf.coef_ / 2]), np.array([-clf.intercept_[0] / 2, clf.intercept_[0] / 2])
    else:
        coef, intercept = clf.coef_, clf.intercept_
    return coef.T.astype(np.float64), intercept.astype(np.float64)


def _size_warnings(counts: dict[str, int]) -> list[str]:
    out = []
    if min(counts.values()) < 8:
        out.append(f"fewest examples of a class: {min(counts.values())}; SetFit is measured from 8 per class")
    if max(counts.values()) > MAX_EXAMPLES_PER_CLASS_HINT:
        out.append(f"{max(counts.values())} examples of one class: with this many, method=head trains in a fraction of the time")
    return out


def _reporter(progress):
    """``progress``: a ``(stage, done, total)`` callback, True for a Rich bar, or False."""
    if callable(progress):
        return progress
    if progress is True:
        from .embedding import progress_bar

        state: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if "update" not in state:
                state["update"], state["close"] = progress_bar(total, stage)
            state["update"](done, total)
            if done >= total:
                state["close"]()
        return report
    return lambda stage, done, total: None
