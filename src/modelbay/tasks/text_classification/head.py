"""Train a small classifier head on sentence embeddings, for any set of labels.

The result is a model directory that ``EmbeddingHead`` (``model.py``)
runs in numpy with no torch:

* ``head.json`` — format, embedder, labels, layers, temperature, extra features
* ``head.npz`` — ``W0, b0, W1, b1, ...`` (ReLU between layers, softmax at the end)
* ``model_card.json`` — data sources and hash, parameters, metrics, how to reproduce

Training, in steps: check and embed the texts with a catalog embeddings model
(cached on disk); split them, stratified by label and source, with the stored seed;
fit an MLP (or an ensemble merged into one) with AdamW and early stopping on the
validation split; calibrate a softmax temperature on that split; score it; write
the model directory atomically.

>>> from modelbay.train import HeadConfig, train_embedding_head          # doctest: +SKIP
>>> recs = [{"text": "love it", "label": "pos"}, {"text": "hate it", "label": "neg"}] * 20
>>> card = train_embedding_head(recs, "/tmp/my-head", HeadConfig())     # doctest: +SKIP
>>> card["labels"]                                                       # doctest: +SKIP
['neg', 'pos']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...data.roots import confined, label_counts
from ...ml.calibration import expected_calibration_error, fit_temperature
from ...ml.fingerprint import data_fingerprint
from ...ml.mlp import fit_mlp, forward, merge_ensemble, softmax
from ...ml.model_dir import utc_timestamp
from ...ml.splits import split_card, stratified_split, validation_warnings
from .embedding import embed_texts
from .model import EmbeddingHead, write_head

__all__ = ["HeadConfig", "check_records", "featurize", "train_embedding_head"]

@dataclass
class HeadConfig:
    """What to train. Defaults suit a few thousand to a few ten-thousand short texts."""

    embedder: str = "multilingual-e5-small"
    embed_kind: str = "query"
    extra_features: tuple[str, ...] = ()       # names understood by EmbeddingHead.extra_features
    hidden_sizes: tuple[int, ...] = (256,)     # () trains a linear (logistic) head
    dropout: float = 0.2
    learning_rate: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 60
    patience_epochs: int = 6
    val_fraction: float = 0.1
    balance_classes: bool = True               # weight the loss so each class counts equally
    max_chars: int = 512                       # texts are cut to this many characters before embedding
    embed_batch_size: int = 32
    seed: int = 0
    n_ensemble: int = 1                        # heads trained with seeds seed, seed+1, ...; merged into one MLP
    source_weights: dict[str, float] = field(default_factory=dict)  # per record["source"] loss weight


def check_records(records: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """``(texts, labels, classes)`` of ``{"text", "label"}`` records; at least 2 labels of 2 examples each."""
    if not records:
        raise BadInput("no training records")
    texts, labels = [], []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or not str(rec.get("text", "")).strip() or rec.get("label") in (None, ""):
            got = "" if confined() else f", got {rec!r:.100}"
            raise BadInput(f"training record {i}: expected an object with non-empty 'text' and 'label'{got}")
        texts.append(str(rec["text"]))
        labels.append(str(rec["label"]))
    classes = sorted(set(labels))
    counts = {c: labels.count(c) for c in classes}
    if len(classes) < 2 or min(counts.values()) < 2:
        raise BadInput(f"need at least 2 labels with at least 2 examples each, got {label_counts(counts, 'examples')}")
    return texts, labels, classes


def featurize(texts: list[str], config: HeadConfig, *, progress=False, cache_dir=None):
    """Embeddings, plus the extra features the config names, as one float32 matrix."""
    import numpy as np

    X = embed_texts(texts, config.embedder, config.embed_kind, batch_size=config.embed_batch_size,
                    max_chars=config.max_chars, progress=progress, cache_dir=cache_dir)
    if config.extra_features:
        X = np.hstack([X, EmbeddingHead.extra_features(list(config.extra_features), [t[:config.max_chars] for t in texts])])
    return X.astype(np.float32)


def train_embedding_head(
    records: list[dict],
    out_dir: str | Path,
    config: HeadConfig | None = None,
    *,
    name: str = "embedding-head",
    task: str = "text-classification",
    progress: bool | Callable[[str, int, int], None] = False,
    cache_dir: str | Path | None = None,
    card_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train a head on ``records`` (``{"text", "label"[, "source"]}``) and save it in ``out_dir``.

    ``progress``: True (a Rich bar) or, as for ``Task.fit``, a callback ``(stage, done, total)``.
    Returns the model card (also written as ``model_card.json``), whose
    ``metrics.validation`` holds accuracy/macro-F1 on the held-out split.
    """
    import numpy as np

    config = config or HeadConfig()
    if config.n_ensemble < 1:
        raise BadInput(f"n_ensemble must be >= 1, got {config.n_ensemble}")
    data = _prepare(records, config, progress, cache_dir)
    split = stratified_split(data.labels, config.val_fraction, config.seed, groups=data.sources)
    train_idx, val_idx = np.array(split[0], dtype=int), np.array(split[1], dtype=int)
    t0 = time.perf_counter()
    layers, fit_info = _fit(data, train_idx, val_idx, config)
    temperature = fit_temperature(forward(layers, data.X[val_idx]), data.y[val_idx])
    fit_info = {"temperature": round(temperature, 6), "embedding_seconds": round(data.embed_s, 1),
                "fit_seconds": round(time.perf_counter() - t0, 1), **fit_info}
    val_metrics = _score(data, val_idx, layers, temperature)
    card = _card(records, data, config, (len(train_idx), len(val_idx)), fit_info, val_metrics, name=name, task=task)
    card.update(card_extra or {})
    write_head(out_dir, config, data.classes, layers, temperature, card)
    return card


@dataclass
class _Data:
    """The checked records as arrays: features ``X`` (n, d), class indices ``y``, and their names."""

    X: Any
    y: Any
    classes: list[str]
    labels: list[str]
    sources: list[str]
    embed_s: float


def _prepare(records: list[dict], config: HeadConfig, progress, cache_dir) -> _Data:
    """Check the records and embed their texts (``progress`` as for :func:`train_embedding_head`)."""
    import numpy as np

    texts, labels, classes = check_records(records)
    t0 = time.perf_counter()
    if callable(progress):  # the fit contract's (stage, done, total); embed_texts reports (done, total)
        report = progress
        progress = lambda done, total: report("embedding", done, total)
    X = featurize(texts, config, progress=progress, cache_dir=cache_dir)
    y = np.array([classes.index(label) for label in labels])
    return _Data(X, y, classes, labels, [str(r.get("source", "data")) for r in records], time.perf_counter() - t0)


def _fit(data: _Data, train_idx, val_idx, config: HeadConfig) -> tuple[list, dict[str, Any]]:
    """``n_ensemble`` MLPs (seeds ``seed``, ``seed + 1``…) on the training rows, merged into one."""
    weights = _sample_weights(data, train_idx, config)
    X, y = data.X, data.y
    members, info = [], {"members": []}
    for k in range(config.n_ensemble):
        member, member_info = fit_mlp(X[train_idx], y[train_idx], weights[train_idx], X[val_idx], y[val_idx],
                                      replace(config, seed=config.seed + k), len(data.classes))
        members.append(member)
        info["members"].append(member_info)
    return merge_ensemble(members), info


def _sample_weights(data: _Data, train_idx, config: HeadConfig):
    """Per-record loss weights: ``source_weights``, then (``balance_classes``) each class's training total equalised."""
    import numpy as np

    weights = np.ones(len(data.y), dtype=np.float64)
    for src, w in config.source_weights.items():
        weights[np.array(data.sources) == src] *= w
    if config.balance_classes:
        for c in range(len(data.classes)):
            mask = data.y[train_idx] == c
            total = weights[train_idx][mask].sum()
            if total:
                weights[train_idx[mask]] *= weights[train_idx].sum() / (len(data.classes) * total)
    return weights


def _score(data: _Data, val_idx, layers, temperature: float) -> dict[str, Any]:
    """Validation metrics of the calibrated head, ECE before and after calibration, accuracy per source."""
    import numpy as np

    from ...ml.metrics import classification_metrics

    classes, y_val = data.classes, data.y[val_idx]
    logits = forward(layers, data.X[val_idx])
    probs = softmax(logits / temperature)
    metrics = classification_metrics([classes[i] for i in y_val], [classes[i] for i in probs.argmax(axis=1)],
                                     labels=classes)
    metrics["ece_before_calibration"] = round(expected_calibration_error(softmax(logits), y_val), 4)
    metrics["ece_after_calibration"] = round(expected_calibration_error(probs, y_val), 4)
    val_sources = np.array(data.sources)[val_idx]
    metrics["accuracy_by_source"] = {
        src: {"n": int((val_sources == src).sum()),
              "accuracy": round(float((probs.argmax(1)[val_sources == src] == y_val[val_sources == src]).mean()), 4)}
        for src in sorted(set(val_sources))}
    return metrics


def _card(records: list[dict], data: _Data, config: HeadConfig, sizes: tuple[int, int], training: dict[str, Any],
          val_metrics: dict[str, Any], *, name: str, task: str) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    for src, label in zip(data.sources, data.labels):
        counts.setdefault(src, {}).setdefault(label, 0)
        counts[src][label] += 1
    return {
        "name": name, "task": task, "labels": data.classes,
        "format": "modelbay.embedding-head/2", "embedder": config.embedder, "created": utc_timestamp(),
        "data": {**data_fingerprint(records), "n_train": sizes[0], "n_validation": sizes[1], "counts_by_source": counts,
                 "split": split_card(config.seed, config.val_fraction, *sizes, stratified_by="label and source")},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "training": training,
        "metrics": {"validation": val_metrics},
        "warnings": validation_warnings(sizes[1], "records"),
    }
