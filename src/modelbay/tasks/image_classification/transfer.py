"""Transfer learning for image classification on the packaged EfficientNet-Lite0.

1. Read and check the images (a folder per class, or a table of paths): ``data/folders.py``.
2. Split them, stratified by class, with the stored ``seed``.
3. Extract the frozen network's pooled 1280-d features in batches — the training images
   also ``augment_copies`` times, randomly cropped, flipped, rotated and colour-jittered
   (deterministic per image content and seed, so features are cached on disk and a second
   run with other head options costs seconds): ``train/image_features.py``.
4. Fit an MLP head (``train/mlp.py``) with early stopping on the validation split, then a
   softmax temperature on that split.
5. Optionally (``unfreeze_epochs`` > 0) fine-tune the last ``unfreeze_blocks`` blocks and the
   head together at a low learning rate (``train/image_finetune.py``).

The model directory holds ``head.json``, ``head.npz``, ``backbone.pt`` (only when fine-tuned)
and ``model_card.json``; ``model.py`` holds its reader (``TransferHead``) and writer.

>>> from modelbay.tasks.image_classification.transfer import TransferConfig, train_image_classifier  # doctest: +SKIP
>>> card = train_image_classifier("photos/", "/tmp/defects", TransferConfig(image_size=128))  # doctest: +SKIP
>>> card["metrics"]["validation"]["accuracy"]                                         # doctest: +SKIP
0.97
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...data.splits import validation_warnings
from ...ml.progress import reporter
from .config import TransferConfig
from .model import write_transfer_model


def stratified_split(labels: list[str], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices ``(train, validation)``: each class split in the same proportion; classes of one image stay in train."""
    import numpy as np

    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in sorted(set(labels)):
        idx = np.array([i for i, x in enumerate(labels) if x == label])
        rng.shuffle(idx)
        n_val = min(len(idx) - 1, max(1, round(len(idx) * val_fraction))) if len(idx) > 1 else 0
        val += idx[:n_val].tolist()
        train += idx[n_val:].tolist()
    return sorted(train), sorted(val)


def train_image_classifier(data: str | Path, out_dir: str | Path, config: TransferConfig | None = None, *,
                           name: str = "image-classifier", task: str = "image-classification", progress=False,
                           table_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train on a folder per class (or a table of image paths) and save the model in ``out_dir``.

    Returns the model card (also ``model_card.json``): labels, data counts and fingerprint,
    config, timings and ``metrics.validation`` (accuracy, macro-F1, per class).
    """
    import numpy as np

    from ...data.folders import read_images
    from ...ml.mlp import fit_mlp, fit_temperature, forward, softmax
    from .features import FeatureExtractor, extract_features

    config = config or TransferConfig()
    t0 = time.perf_counter()
    with reporter(progress) as rep:
        images = read_images(data, table_options or {}, progress=_lazy_stage(rep, "checking images"))
        labels = images.labels
        y_all = np.array([labels.index(r["label"]) for r in images.records])
        train_idx, val_idx = stratified_split([r["label"] for r in images.records], config.val_fraction, config.seed)
        if not val_idx:
            raise BadInput(f"{data}: too few images to hold any out for validation ({images.summary()})",
                           hint="add images: at least 2 per class")
        extractor = FeatureExtractor(config)
        n_blocks = len(extractor.net._blocks)
        if config.unfreeze_epochs and config.unfreeze_blocks >= n_blocks:
            raise BadInput(f"unfreeze_blocks={config.unfreeze_blocks}: {config.base} has {n_blocks} blocks; fine-tune fewer")
        split = extractor.split = n_blocks - config.unfreeze_blocks if config.unfreeze_epochs else 0
        n_jobs = len(images.records) + config.augment_copies * len(train_idx)
        t1 = time.perf_counter()
        X, rows, acts = extract_features(images, train_idx, config, extractor, rep.stage("features", n_jobs))
        feature_s = time.perf_counter() - t1
        img_of_row = np.array([i for i, _ in rows])
        is_val = np.isin(img_of_row, val_idx)
        tr_rows = np.flatnonzero(~is_val)
        va_rows = np.flatnonzero(is_val & (np.array([c for _, c in rows]) == 0))
        y = y_all[img_of_row]
        weights = np.ones(len(tr_rows))
        if config.balance_classes:
            counts = np.bincount(y[tr_rows], minlength=len(labels)).astype(float)
            weights = len(tr_rows) / (len(labels) * np.maximum(counts[y[tr_rows]], 1))
        tick = rep.stage("head", 1)
        t2 = time.perf_counter()
        # fit_mlp standardises each feature; one (nearly) constant over the training images would get a
        # huge weight and swing on new images, so such features are left out (zero rows in the first layer)
        std = X[tr_rows].std(axis=0)
        keep = np.flatnonzero(std > 0.1 * np.median(std))
        layers, history = fit_mlp(X[tr_rows][:, keep], y[tr_rows], weights, X[va_rows][:, keep], y[va_rows], config, len(labels))
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
                extractor.net, split, acts, tr_rows, va_rows, y, weights, layers, config,
                rep.stage("fine-tuning", config.unfreeze_epochs))
        X_val = fine_tune.pop("val_features") if fine_tune else X[va_rows]  # from the fine-tuned network, if any
        logits = forward(layers, X_val)
        temperature = fit_temperature(logits, y[va_rows]) if config.calibrate and len(va_rows) >= 30 else 1.0
        fit_s = time.perf_counter() - t2
    probs = softmax(logits / temperature)
    from ...ml.metrics import classification_metrics

    val_metrics = classification_metrics([labels[i] for i in y[va_rows]], [labels[i] for i in probs.argmax(1)], labels)
    total_s = time.perf_counter() - t0
    card = {
        "name": name, "task": task, "labels": labels, "format": "modelbay.image-head/1", "base": config.base,
        "description": f"{len(labels)}-class image classifier: a head on {config.base} features"
                       + (f", last {config.unfreeze_blocks} blocks fine-tuned" if delta is not None else ""),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "options": {"backend": "transfer-head", "base": config.base},
        "data": {"source": str(data), "sha256": images.fingerprint, "n_images": len(images.records),
                 "n_train": len(train_idx), "n_validation": len(val_idx), "split_seed": config.seed,
                 "counts": images.counts, "skipped_files": images.skipped[:20], "n_skipped": len(images.skipped)},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "training": {"temperature": round(float(temperature), 6), "feature_seconds": round(feature_s, 1),
                     "features_extracted": len(rows), "images_per_second": round(len(rows) / max(feature_s, 1e-9), 1),
                     "fit_seconds": round(fit_s, 1), "head": history, **({"fine_tune": fine_tune} if fine_tune else {})},
        "metrics": {"validation": val_metrics, "training_seconds": round(total_s, 1)},
        "warnings": validation_warnings(len(val_idx), "images"),
    }
    head = {"format": "modelbay.image-head/1", "base": config.base, "labels": labels, "n_layers": len(layers),
            "temperature": round(float(temperature), 6), "image_size": config.image_size,
            "crop_fraction": config.crop_fraction, "mean": extractor.mean, "std": extractor.std,
            "backbone_file": "backbone.pt" if delta is not None else None}
    write_transfer_model(Path(out_dir), head, layers, delta, card)
    return card


def _lazy_stage(rep, name: str):
    """A ``(done, total)`` callback that opens the progress stage once the total is known."""
    state: dict[str, Any] = {}

    def callback(done: int, total: int) -> None:
        if "tick" not in state:
            state["tick"] = rep.stage(name, total)
        state["tick"](done)

    return callback


