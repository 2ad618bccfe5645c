"""Training on your boxes: a small head that relabels and rescores the pretrained CenterNet's proposals.

Why this and not a new detector: on a few dozen to a few hundred labelled photos and a CPU, training a
detection head from scratch on EfficientNet-Lite0 (or fine-tuning the converted graph, which would first
need rebuilding in PyTorch) learns localisation from far too little data and takes long. CenterNet already
finds object-like things well on COCO; what a user's data changes is mostly *what they are called and
which matter* (a cat the COCO model calls a dog, "defect" vs "not one", a class COCO lacks but whose
objects CenterNet still boxes). So the network stays frozen and its 100 best candidates per photo are
each described by CenterNet's own signals at the candidate's heatmap peak: the 80 class heatmap values,
the 4 box extents, the box's size and aspect, and its score. An MLP (``modelbay.ml.mlp``) learns to map
that to your labels or to background, from candidates matched to your boxes (IoU >= ``match_iou``).
The limit: a box CenterNet never proposes cannot be found.

Format ``modelbay.detection-head/1``: ``head.json`` (base model, labels with "(background)" first,
n_layers), ``head.npz`` and ``model_card.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...core.errors import BadInput

FORMAT = "modelbay.detection-head/1"
BACKGROUND = "(background)"


def proposal_features(named: dict, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CenterNet's 100 candidates (boxes in its input's pixels, scores, COCO classes) and their (100, 90) features.

    A candidate's peak cell is where its class heatmap equals its score (the graph takes scores from there).
    """
    det = named["tower_0/detections"][0]
    heat, extents = named["tower_0/keypoints"][0], named["tower_0/wh"][0]
    cells = heat.shape[0]
    classes = det[:, 5].astype(np.int64)
    flat = heat.reshape(-1, heat.shape[2])[:, classes]  # (cells*cells, 100)
    peak = np.argmin(np.abs(flat - det[:, 4][None, :]), axis=0)
    py, px = np.divmod(peak, cells)
    boxes = det[:, :4]
    w = np.maximum(boxes[:, 2] - boxes[:, 0], 1.0) / size
    h = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0) / size
    geometry = np.stack([np.log(w), np.log(h), np.log(w / h), det[:, 4], px / cells, py / cells], 1)
    features = np.concatenate([heat[py, px], extents[py, px] / size, geometry], 1).astype(np.float32)
    return boxes, det[:, 4], classes, features


class ProposalHead:
    """A trained head over a base CenterNet: ``detect(image)`` like any detector, with the head's labels."""

    def __init__(self, path: Path, base_detector) -> None:
        from ...ml.model_files import ModelDir

        d = ModelDir(path, hint="train the model again with `modelbay train object-detection`")
        config = d.config("head.json", (FORMAT,), required=("base", "labels", "n_layers"))
        self.labels: list[str] = d.labels(config, "head.json")
        self.layers = d.mlp_layers(config["n_layers"], len(self.labels))
        self.base = base_detector
        self.class_names = tuple(self.labels[1:])

    def detect(self, image, min_score: float = 0.05):
        from ...ml.model_files import mlp_logits, softmax

        boxes, _, _, features = self.base.candidates(image)
        probs = softmax(mlp_logits(self.layers, features))[:, 1:]
        classes = probs.argmax(1)
        scores = probs[np.arange(len(probs)), classes]
        keep = scores >= min_score
        return boxes[keep], scores[keep].astype(np.float32), classes[keep].astype(np.int64)


def write_head(out_dir: Path, base: str, labels: list[str], layers, card: dict) -> None:
    from ...ml.model_dir import atomic_model_dir, save_head_layers, write_card

    with atomic_model_dir(out_dir) as tmp:
        head = {"format": FORMAT, "base": base, "labels": labels, "n_layers": len(layers)}
        (tmp / "head.json").write_text(json.dumps(head, indent=2) + "\n", encoding="utf-8")
        save_head_layers(tmp, layers)
        write_card(tmp, card)


def check_base(spec) -> None:
    if spec.task != "object-detection" or spec.options.get("backend") != "centernet":
        raise BadInput(f"base {spec.name!r} is not a CenterNet detector", hint="use base=centernet-coco")
