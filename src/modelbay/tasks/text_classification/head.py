"""Train a small classifier head on sentence embeddings, for any set of labels.

The result is a model directory that ``EmbeddingHead`` (``model.py``)
runs in numpy with no torch:

* ``head.json`` — format, embedder, labels, layers, temperature, extra features
* ``head.npz`` — ``W0, b0, W1, b1, ...`` (ReLU between layers, softmax at the end)
* ``model_card.json`` — data sources and hash, parameters, metrics, how to reproduce

Training: embed texts with a catalog embeddings model (cached on disk), fit an
MLP with AdamW and early stopping on a stratified validation split, then fit a
softmax temperature on that split (calibration). Seeds are fixed.

>>> from modelbay.train import HeadConfig, train_embedding_head          # doctest: +SKIP
>>> recs = [{"text": "love it", "label": "pos"}, {"text": "hate it", "label": "neg"}] * 20
>>> card = train_embedding_head(recs, "/tmp/my-head", HeadConfig())     # doctest: +SKIP
>>> card["labels"]                                                       # doctest: +SKIP
['neg', 'pos']
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...data.roots import confined, label_counts
from ...data.splits import validation_warnings
from ...ml.mlp import expected_calibration_error, fit_mlp, fit_temperature, forward, merge_ensemble, softmax
from .model import EmbeddingHead, write_head

__all__ = ["HeadConfig", "embed_texts", "forward", "merge_ensemble", "softmax", "train_embedding_head"]

#: callback(done, total) called after each embedded batch
ProgressCallback = Callable[[int, int], None]


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


def _progress_bar(total: int, description: str):
    """A Rich progress bar as a (callback, close) pair; silent when Rich is missing."""
    try:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    except ImportError:
        return (lambda done, total: None), (lambda: None)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=False)
    task_id = bar.add_task(description, total=total)
    bar.start()
    return (lambda done, _total: bar.update(task_id, completed=done)), bar.stop


def embed_texts(
    texts: list[str],
    embedder: str = "multilingual-e5-small",
    kind: str = "query",
    *,
    batch_size: int = 32,
    max_chars: int = 512,
    progress: bool | ProgressCallback = False,
    cache_dir: str | Path | None = None,
):
    """Embed texts with a catalog embeddings model into an (n, dim) float32 array.

    Texts are cut to ``max_chars``, embedded in batches of similar length (padding
    costs time) and, with ``cache_dir``, cached on disk. ``progress`` is True for a
    Rich progress bar or a ``callback(done, total)``.

    >>> embed_texts(["good", "bad"], "all-minilm-l6-v2").shape   # doctest: +SKIP
    (2, 384)
    """
    import numpy as np

    from ...core.loading import load_task
    from ...ml.embedding_cache import EmbeddingCache

    if kind not in ("query", "passage"):
        raise BadInput(f"embed kind {kind!r}: expected 'query' or 'passage'")
    texts = [str(t)[:max_chars] for t in texts]
    cache = EmbeddingCache(Path(cache_dir) / f"{embedder}-{kind}") if cache_dir else None
    found = cache.get(texts) if cache else {}
    todo = sorted((i for i in range(len(texts)) if i not in found), key=lambda i: len(texts[i]))
    out = None
    if found:
        dim = len(next(iter(found.values())))
        out = np.empty((len(texts), dim), dtype=np.float32)
        for i, v in found.items():
            out[i] = v
    if todo:
        callback, close = _progress_bar(len(todo), f"embedding with {embedder}") if progress is True else (progress or (lambda d, t: None), lambda: None)
        model = load_task("embeddings", embedder)
        try:
            for start in range(0, len(todo), batch_size):
                idx = todo[start:start + batch_size]
                batch = [texts[i] for i in idx]
                vectors = np.asarray(model.encode(batch, [kind] * len(batch)), dtype=np.float32)
                if out is None:
                    out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                out[idx] = vectors
                if cache:
                    cache.put(batch, vectors)
                callback(min(start + batch_size, len(todo)), len(todo))
        finally:
            close()
    if out is None:
        return np.zeros((0, 0), dtype=np.float32)
    return out


def _check_records(records: list[dict]) -> tuple[list[str], list[str], list[str]]:
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


def data_hash(records: list[dict]) -> str:
    """sha256 over the sorted (text, label) pairs: the same data gives the same hash in any order."""
    digest = hashlib.sha256()
    for text, label in sorted((str(r["text"]), str(r["label"])) for r in records):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def _split(labels, sources, val_fraction: float, seed: int):
    """Stratified by (label, source) so every domain is seen in validation."""
    import numpy as np

    rng = np.random.default_rng(seed)
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(labels, sources)):
        groups.setdefault(key, []).append(i)
    train_idx, val_idx = [], []
    for key in sorted(groups):
        idx = np.array(groups[key])
        rng.shuffle(idx)
        n_val = round(len(idx) * val_fraction) if len(idx) >= 4 else 0
        val_idx.extend(idx[:n_val].tolist())
        train_idx.extend(idx[n_val:].tolist())
    if not val_idx:  # tiny data: validate on a random share anyway
        perm = rng.permutation(len(labels))
        n_val = max(1, int(len(labels) * val_fraction))
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])
    return np.array(sorted(train_idx)), np.array(sorted(val_idx))


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

    from ...ml.metrics import classification_metrics

    config = config or HeadConfig()
    texts, str_labels, classes = _check_records(records)
    sources = [str(r.get("source", "data")) for r in records]
    t0 = time.perf_counter()
    if callable(progress):  # the fit contract's (stage, done, total); embed_texts reports (done, total)
        report = progress
        progress = lambda done, total: report("embedding", done, total)
    X = featurize(texts, config, progress=progress, cache_dir=cache_dir)
    embed_s = time.perf_counter() - t0
    y = np.array([classes.index(label) for label in str_labels])
    train_idx, val_idx = _split(str_labels, sources, config.val_fraction, config.seed)
    weights = np.ones(len(y), dtype=np.float64)
    for src, w in config.source_weights.items():
        weights[np.array(sources) == src] *= w
    if config.balance_classes:
        for c in range(len(classes)):
            mask = y[train_idx] == c
            total = weights[train_idx][mask].sum()
            if total:
                weights[train_idx[mask]] *= weights[train_idx].sum() / (len(classes) * total)
    t1 = time.perf_counter()
    if config.n_ensemble < 1:
        raise BadInput(f"n_ensemble must be >= 1, got {config.n_ensemble}")
    members, fit_info = [], {"members": []}
    for k in range(config.n_ensemble):
        member_config = replace(config, seed=config.seed + k)
        member, info = fit_mlp(X[train_idx], y[train_idx], weights[train_idx], X[val_idx], y[val_idx], member_config, len(classes))
        members.append(member)
        fit_info["members"].append(info)
    layers = merge_ensemble(members)
    val_logits = forward(layers, X[val_idx])
    temperature = fit_temperature(val_logits, y[val_idx])
    fit_s = time.perf_counter() - t1
    probs_raw, probs = softmax(val_logits), softmax(val_logits / temperature)
    pred = [classes[i] for i in probs.argmax(axis=1)]
    val_metrics = classification_metrics([classes[i] for i in y[val_idx]], pred, labels=classes)
    val_metrics["ece_before_calibration"] = round(expected_calibration_error(probs_raw, y[val_idx]), 4)
    val_metrics["ece_after_calibration"] = round(expected_calibration_error(probs, y[val_idx]), 4)
    per_source = {}
    val_sources = np.array(sources)[val_idx]
    for src in sorted(set(val_sources)):
        m = val_sources == src
        per_source[src] = {"n": int(m.sum()), "accuracy": round(float((probs.argmax(1)[m] == y[val_idx][m]).mean()), 4)}
    val_metrics["accuracy_by_source"] = per_source
    counts: dict[str, dict[str, int]] = {}
    for src, label in zip(sources, str_labels):
        counts.setdefault(src, {}).setdefault(label, 0)
        counts[src][label] += 1
    card = {
        "name": name, "task": task, "labels": classes,
        "format": "modelbay.embedding-head/2", "embedder": config.embedder,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": {"n_records": len(records), "n_train": len(train_idx), "n_validation": len(val_idx),
                 "sha256": data_hash(records), "counts_by_source": counts},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "training": {"temperature": round(temperature, 6), "embedding_seconds": round(embed_s, 1),
                     "fit_seconds": round(fit_s, 1), **fit_info},
        "metrics": {"validation": val_metrics},
        "warnings": validation_warnings(len(val_idx), "records"),
    }
    card.update(card_extra or {})
    write_head(out_dir, config, classes, layers, temperature, card)
    return card
