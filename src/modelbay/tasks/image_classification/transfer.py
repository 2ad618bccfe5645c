"""Transfer learning for image classification on the packaged EfficientNet-Lite0.

1. Read and check the images (a folder per class, or a table of paths): ``data/folders.py``.
2. Split: stratified by class, with the stored ``seed``.
3. Extract the frozen network's pooled 1280-d features in batches — the training images
   also ``augment_copies`` times, randomly cropped, flipped, rotated and colour-jittered
   (deterministic per image content and seed, so features are cached on disk and a second
   run with other head options costs seconds): ``features.py``.
4. Fit an MLP head (``ml/mlp.py``) with early stopping on the validation split and optionally
   (``unfreeze_epochs`` > 0) fine-tune the last ``unfreeze_blocks`` blocks and the head together
   at a low learning rate (``finetune.py``).
5. Calibrate a softmax temperature on the validation split, score it there, and write the model.

The model directory holds ``head.json``, ``head.npz``, ``backbone.pt`` (only when fine-tuned)
and ``model_card.json``; ``model.py`` holds its reader (``TransferHead``) and writer.

>>> from modelbay.tasks.image_classification.transfer import TransferConfig, train_image_classifier  # doctest: +SKIP
>>> card = train_image_classifier("photos/", "/tmp/defects", TransferConfig(image_size=128))  # doctest: +SKIP
>>> card["metrics"]["validation"]["accuracy"]                                         # doctest: +SKIP
0.97
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...ml.progress import reporter
from ...ml.splits import split_card, stratified_split, validation_warnings
from .config import TransferConfig
from .model import write_transfer_model


def train_image_classifier(data: str | Path, out_dir: str | Path, config: TransferConfig | None = None, *,
                           name: str = "image-classifier", task: str = "image-classification", progress=False,
                           table_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train on a folder per class (or a table of image paths) and save the model in ``out_dir``.

    Returns the model card (also ``model_card.json``): labels, data counts and fingerprint,
    config, timings and ``metrics.validation`` (accuracy, macro-F1, per class).
    """
    from ...data.folders import read_images

    config = config or TransferConfig()
    t0 = time.perf_counter()
    with reporter(progress) as rep:
        images = read_images(data, table_options or {}, progress=_lazy_stage(rep, "checking images"))
        train_idx, val_idx = _split(images, config, data)
        feats = _extract(images, train_idx, val_idx, config, rep)
        fit = _fit(feats, config, len(images.labels), rep)
        temperature = _calibrate(fit, feats, config)
    val_metrics = _score(fit, feats, temperature, images.labels)
    card = _card(data, images, config, name, task, train_idx, val_idx, feats, fit, temperature, val_metrics,
                 time.perf_counter() - t0)
    _write(out_dir, config, feats.extractor, images.labels, fit, temperature, card)
    return card


@dataclass
class _Features:
    """Features of every image and augmented copy, and which rows train and which validate."""

    extractor: Any
    X: Any              # (rows, 1280)
    rows: list          # (image index, copy) per row
    acts: Any           # the activations entering the fine-tuned blocks, or None
    y: Any              # class index per row
    tr_rows: Any        # every training row (augmented copies included)
    va_rows: Any        # the validation images themselves (copy 0)
    weights: Any        # per training row; equal unless balance_classes
    seconds: float


@dataclass
class _Fit:
    layers: list        # the head, [(W, b), ...]
    delta: Any          # the fine-tuned tensors, or None
    history: dict
    fine_tune: dict
    val_logits: Any
    seconds: float


def _split(images, config: TransferConfig, data) -> tuple[list[int], list[int]]:
    """Split step: stratified by class with the stored seed; fails when nothing can be held out."""
    train_idx, val_idx = stratified_split([r["label"] for r in images.records], config.val_fraction, config.seed)
    if not val_idx:
        raise BadInput(f"{data}: too few images to hold any out for validation ({images.summary()})",
                       hint="add images: at least 2 per class")
    return train_idx, val_idx


def _extract(images, train_idx: list[int], val_idx: list[int], config: TransferConfig, rep) -> _Features:
    """The frozen network's features (and the activations fine-tuning starts from), with class weights."""
    import numpy as np

    from .features import FeatureExtractor, extract_features

    extractor = FeatureExtractor(config)
    n_blocks = len(extractor.net._blocks)
    if config.unfreeze_epochs and config.unfreeze_blocks >= n_blocks:
        raise BadInput(f"unfreeze_blocks={config.unfreeze_blocks}: {config.base} has {n_blocks} blocks; fine-tune fewer")
    extractor.split = n_blocks - config.unfreeze_blocks if config.unfreeze_epochs else 0
    n_jobs = len(images.records) + config.augment_copies * len(train_idx)
    t1 = time.perf_counter()
    X, rows, acts = extract_features(images, train_idx, config, extractor, rep.stage("features", n_jobs))
    seconds = time.perf_counter() - t1
    labels = images.labels
    img_of_row = np.array([i for i, _ in rows])
    is_val = np.isin(img_of_row, val_idx)
    tr_rows = np.flatnonzero(~is_val)
    va_rows = np.flatnonzero(is_val & (np.array([c for _, c in rows]) == 0))
    y = np.array([labels.index(r["label"]) for r in images.records])[img_of_row]
    weights = np.ones(len(tr_rows))
    if config.balance_classes:
        counts = np.bincount(y[tr_rows], minlength=len(labels)).astype(float)
        weights = len(tr_rows) / (len(labels) * np.maximum(counts[y[tr_rows]], 1))
    return _Features(extractor, X, rows, acts, y, tr_rows, va_rows, weights, seconds)


def _fit(f: _Features, config: TransferConfig, n_classes: int, rep) -> _Fit:
    """Fit step: the MLP head with early stopping, then (``unfreeze_epochs``) the last blocks with it."""
    import numpy as np

    from ...ml.mlp import fit_mlp, forward

    tick = rep.stage("head", 1)
    t2 = time.perf_counter()
    X, tr, va = f.X, f.tr_rows, f.va_rows
    # fit_mlp standardises each feature; one (nearly) constant over the training images would get a
    # huge weight and swing on new images, so such features are left out (zero rows in the first layer)
    std = X[tr].std(axis=0)
    keep = np.flatnonzero(std > 0.1 * np.median(std))
    layers, history = fit_mlp(X[tr][:, keep], f.y[tr], f.weights, X[va][:, keep], f.y[va], config, n_classes)
    w0 = np.zeros((X.shape[1], layers[0][0].shape[1]), dtype=np.float32)
    w0[keep] = layers[0][0]
    layers[0] = (w0, layers[0][1])
    history["features_used"] = len(keep)
    tick(1)
    fine_tune: dict[str, Any] = {}
    delta = None
    if config.unfreeze_epochs:
        from .finetune import fine_tune_tail

        layers, delta, fine_tune = fine_tune_tail(
            f.extractor.net, f.extractor.split, f.acts, tr, va, f.y, f.weights, layers, config,
            rep.stage("fine-tuning", config.unfreeze_epochs))
    X_val = fine_tune.pop("val_features") if fine_tune else X[va]  # from the fine-tuned network, if any
    return _Fit(layers, delta, history, fine_tune, forward(layers, X_val), time.perf_counter() - t2)


def _calibrate(fit: _Fit, f: _Features, config: TransferConfig) -> float:
    """Calibrate step: a softmax temperature on the validation images (with at least 30 of them)."""
    from ...ml.calibration import fit_temperature

    if not (config.calibrate and len(f.va_rows) >= 30):
        return 1.0
    return fit_temperature(fit.val_logits, f.y[f.va_rows])


def _score(fit: _Fit, f: _Features, temperature: float, labels: list[str]) -> dict[str, Any]:
    """Score step: classification metrics of the calibrated head on the validation images."""
    from ...ml.metrics import classification_metrics
    from ...ml.mlp import softmax

    probs = softmax(fit.val_logits / temperature)
    return classification_metrics([labels[i] for i in f.y[f.va_rows]], [labels[i] for i in probs.argmax(1)], labels)


def _card(data, images, config: TransferConfig, name: str, task: str, train_idx, val_idx, f: _Features, fit: _Fit,
          temperature: float, val_metrics: dict[str, Any], total_s: float) -> dict[str, Any]:
    from ...ml.model_dir import utc_timestamp

    labels = images.labels
    return {
        "name": name, "task": task, "labels": labels, "format": "modelbay.image-head/1", "base": config.base,
        "description": f"{len(labels)}-class image classifier: a head on {config.base} features"
                       + (f", last {config.unfreeze_blocks} blocks fine-tuned" if fit.delta is not None else ""),
        "created": utc_timestamp(),
        "options": {"backend": "transfer-head", "base": config.base},
        "data": {"source": str(data), "sha256": images.fingerprint, "n_images": len(images.records),
                 "n_train": len(train_idx), "n_validation": len(val_idx), "split_seed": config.seed,
                 "split": split_card(config.seed, config.val_fraction, len(train_idx), len(val_idx)),
                 "counts": images.counts, "skipped_files": images.skipped[:20], "n_skipped": len(images.skipped)},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "training": {"temperature": round(float(temperature), 6), "feature_seconds": round(f.seconds, 1),
                     "features_extracted": len(f.rows), "images_per_second": round(len(f.rows) / max(f.seconds, 1e-9), 1),
                     "fit_seconds": round(fit.seconds, 1), "head": fit.history,
                     **({"fine_tune": fit.fine_tune} if fit.fine_tune else {})},
        "metrics": {"validation": val_metrics, "training_seconds": round(total_s, 1)},
        "warnings": validation_warnings(len(val_idx), "images"),
    }


def _write(out_dir, config: TransferConfig, extractor, labels: list[str], fit: _Fit, temperature: float,
           card: dict[str, Any]) -> None:
    """Write step: the model directory, atomically (``model.py`` holds its reader)."""
    head = {"format": "modelbay.image-head/1", "base": config.base, "labels": labels, "n_layers": len(fit.layers),
            "temperature": round(float(temperature), 6), "image_size": config.image_size,
            "crop_fraction": config.crop_fraction, "mean": extractor.mean, "std": extractor.std,
            "backbone_file": "backbone.pt" if fit.delta is not None else None}
    write_transfer_model(Path(out_dir), head, fit.layers, fit.delta, card)


def _lazy_stage(rep, name: str):
    """A ``(done, total)`` callback that opens the progress stage once the total is known."""
    state: dict[str, Any] = {}

    def callback(done: int, total: int) -> None:
        if "tick" not in state:
            state["tick"] = rep.stage(name, total)
        state["tick"](done)

    return callback


