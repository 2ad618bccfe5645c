"""`modelbay train object-detection`: a proposal head on CenterNet (``proposal_head.py`` says why) from YOLO/COCO/labelme data.

Steps: read the boxes; split the images (seeded); run the frozen CenterNet once per image; match its
100 candidates to your boxes (IoU >= ``match_iou``: that box's label, else background); fit the MLP with
classes weighted equally; score mAP on the held-out images, for the head and for the base model alone
(COCO labels that are also yours), so the card says whether training helped.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import BadInput


@dataclass
class HeadConfig:
    base: str = "centernet-coco"        # the frozen detector whose candidates are relabelled
    match_iou: float = 0.5              # a candidate overlapping one of your boxes this much takes its label
    hidden_sizes: tuple[int, ...] = (128,)
    dropout: float = 0.1
    learning_rate: float = 3e-3
    weight_decay: float = 1e-3
    batch_size: int = 256
    max_epochs: int = 150
    patience_epochs: int = 20
    val_fraction: float = 0.25
    seed: int = 0


def head_config(options: dict[str, Any]) -> HeadConfig:
    from ...ml.options import config_from_options

    config = config_from_options(HeadConfig, options, what="object-detection")
    if not (0 < config.val_fraction < 1 and 0 < config.match_iou < 1 and config.max_epochs >= 1):
        raise BadInput("training options: val_fraction and match_iou must be in (0, 1), max_epochs >= 1",
                       hint=f"got {asdict(config)}")
    return config


def _candidates(detector, records: list[dict], labels: list[str], match_iou: float, tick):
    """Per image ``(boxes, scores, classes, features, targets)``; targets index ``labels`` (0: background)."""
    from ...core.media import decode_image_field
    from ...ml.vision.boxes import iou

    out = []
    for i, rec in enumerate(records):
        image = decode_image_field(Path(rec["image"]), rec["image"], allow_paths=True)
        boxes, scores, classes, feats = detector.candidates(image)
        targets = np.zeros(len(boxes), dtype=np.int64)
        truth = np.array([b["box"] for b in rec["boxes"]], dtype=np.float64).reshape(-1, 4)
        if len(truth):
            overlap = iou(boxes, truth)
            best = overlap.argmax(1)
            hit = overlap[np.arange(len(boxes)), best] >= match_iou
            targets[hit] = [labels.index(rec["boxes"][j]["label"]) for j in best[hit]]
        out.append((boxes, scores, classes, feats, targets))
        tick(i + 1)
    return out


def _map(records, predictions) -> dict[str, Any]:
    from ...ml.metrics.detection import detection

    return detection([r["boxes"] for r in records], predictions)


def _predictions(boxes, scores, classes, names) -> list[dict[str, Any]]:
    """What the task returns at score_threshold 0: per-class NMS at IoU 0.5, the best 100."""
    from ...ml.vision.boxes import nms_per_class

    kept = nms_per_class(boxes, scores, classes, 0.5, 100)
    return [{"label": names[int(classes[k])], "score": float(scores[k]), "box": boxes[k].tolist()} for k in kept]


def _head_predictions(layers, cands, labels):
    from ...ml.model_files import mlp_logits, softmax

    preds = []
    for boxes, _, _, feats, _ in cands:
        probs = softmax(mlp_logits(layers, feats))[:, 1:]
        preds.append(_predictions(boxes, probs.max(1), probs.argmax(1), labels[1:]))
    return preds


def _base_predictions(cands, labels):
    """The base model alone, its COCO labels kept where they are also labels of the data."""
    from .detectors import COCO_CLASSES

    preds = []
    for boxes, scores, classes, _, _ in cands:
        ours = np.array([COCO_CLASSES[int(c)] in labels for c in classes], dtype=bool)
        preds.append(_predictions(boxes[ours], scores[ours], classes[ours], COCO_CLASSES))
    return preds


def train_detection_head(records: list[dict], data: str, out_dir: Path, config: HeadConfig, *, name: str, task: str,
                         progress=False) -> dict[str, Any]:
    from ...core.catalog import resolve
    from ...ml.mlp import fit_mlp
    from ...ml.model_dir import utc_timestamp
    from ...ml.progress import reporter
    from ...ml.splits import split_card, split_records, validation_warnings
    from .detectors import OnnxDetector
    from .proposal_head import BACKGROUND, check_base, write_head

    t0 = time.perf_counter()
    labels = [BACKGROUND, *sorted({b["label"] for r in records for b in r["boxes"]})]
    if len(labels) < 2:
        raise BadInput(f"{data}: no boxes to learn from")
    train, val = split_records(records, config.val_fraction, seed=config.seed)
    base = resolve(config.base)
    check_base(base.spec)
    detector = OnnxDetector(base.file(base.spec.options.get("onnx", "model.onnx")), "centernet",
                            int(base.spec.options.get("input_size", 512)))
    with reporter(progress) as rep:
        c_train = _candidates(detector, train, labels, config.match_iou, rep.stage("candidates (training)", len(train)))
        c_val = _candidates(detector, val, labels, config.match_iou, rep.stage("candidates (validation)", len(val)))
        X, y = np.concatenate([c[3] for c in c_train]), np.concatenate([c[4] for c in c_train])
        Xv, yv = np.concatenate([c[3] for c in c_val]), np.concatenate([c[4] for c in c_val])
        counts = np.bincount(y, minlength=len(labels)).astype(np.float64)
        weights = (len(y) / (len(labels) * np.maximum(counts, 1)))[y]
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # a ~100-unit MLP: more threads only add overhead (3x slower on 2 busy cores)
        try:
            layers, history = fit_mlp(X, y, weights, Xv, yv, config, len(labels))
        finally:
            torch.set_num_threads(threads)
    metrics = {"validation": _map(val, _head_predictions(layers, c_val, labels)),
               "validation_base_model": _map(val, _base_predictions(c_val, labels))}
    card = {"name": name, "task": task, "labels": labels[1:], "format": "modelbay.detection-head/1", "base": config.base,
            "description": f"{len(labels) - 1}-class detector: a head relabelling {config.base}'s candidates",
            "created": utc_timestamp(), "options": {"backend": "proposal-head", "base": config.base},
            "data": {"source": str(data), "n_images": len(records), "n_train": len(train), "n_validation": len(val),
                     "boxes_per_label": {lab: int(n) for lab, n in zip(labels[1:], counts[1:])},
                     "split": split_card(config.seed, config.val_fraction, len(train), len(val), stratified_by="none")},
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
            "training": {"candidates": len(y), "matched": int((y > 0).sum()), **history},
            "metrics": {**metrics, "training_seconds": round(time.perf_counter() - t0, 1)},
            "warnings": validation_warnings(len(val), "images")}
    write_head(Path(out_dir), config.base, labels, layers, card)
    return card

