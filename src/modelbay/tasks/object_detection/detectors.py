"""The detector model formats: converted CenterNet and NanoDet ONNX graphs, their inputs and their decoding.

Both take a photo stretched to a square, as the TF.js library they come from feeds them (letterboxing
made no clear difference on the public photos of ``bench/detection_map.py``, 21 boxes: mAP CenterNet
0.481 stretched vs 0.487 letterboxed, NanoDet 0.499 vs 0.569), and give ``(boxes, scores, classes)`` in
that square's pixels, mapped back here to the original image. Both graphs have a fixed batch of 1, so a batch runs image
by image.

* CenterNet (MobileNetV3, 512 px, raw 0-255 RGB): the graph decodes its heatmap itself; output
  ``tower_0/detections`` is ``(1, 100, 6)``: ``x0, y0, x1, y1, score, class`` per row.
* NanoDet (416 px, BGR, ``(x - mean) / std``): three strides (8, 16, 32) of per-class sigmoid scores
  ``(1, cells, 80)`` and GFL box distributions ``(1, cells, 44)``: 4 sides x 11 bins; a side's
  distance is the softmax expectation over bins times the stride, from the cell centre.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: the 80 COCO-2017 detection classes in the models' output order
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)

NANODET_MEAN_BGR = np.array([103.53, 116.28, 123.675], dtype=np.float32)
NANODET_STD_BGR = np.array([57.375, 57.12, 58.395], dtype=np.float32)


def onnx_session(path, threads: int = 0):
    """An onnxruntime CPU session; ``threads`` 0 lets onnxruntime choose (all cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxDetector:
    """One converted detector: ``detect(image) -> (boxes xyxy in the image's pixels, scores, class ids)``."""

    def __init__(self, path, backend: str, input_size: int, threads: int = 0, *, rgb: bool | None = None) -> None:
        if backend not in ("centernet", "nanodet"):
            raise ValueError(f"unknown detector backend {backend!r}; known: centernet, nanodet")
        self.backend, self.size = backend, int(input_size)
        self.session = onnx_session(path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.rgb = (backend == "centernet") if rgb is None else rgb
        self.class_names = COCO_CLASSES

    def pixels(self, image) -> np.ndarray:
        """The network's input for a PIL image: stretched to ``size`` square, in the model's layout."""
        from PIL import Image

        a = np.asarray(image.convert("RGB").resize((self.size, self.size), Image.BILINEAR), dtype=np.float32)
        if not self.rgb:
            a = a[..., ::-1]
        if self.backend == "centernet":
            return np.ascontiguousarray(a[None])
        a = (a - NANODET_MEAN_BGR) / NANODET_STD_BGR
        return np.ascontiguousarray(a.transpose(2, 0, 1)[None])

    def _run(self, image) -> dict[str, np.ndarray]:
        outputs = self.session.run(None, {self.input_name: self.pixels(image)})
        return dict(zip((o.name for o in self.session.get_outputs()), outputs))

    def _to_image(self, boxes: np.ndarray, image) -> np.ndarray:
        w, h = image.size
        scale = np.array([w / self.size, h / self.size] * 2, dtype=np.float32)
        return np.clip(boxes * scale, 0, [w, h, w, h]).astype(np.float32)

    def detect(self, image, min_score: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        named = self._run(image)
        boxes, scores, classes = (_centernet if self.backend == "centernet" else _nanodet)(named, self.size, min_score)
        return self._to_image(boxes, image), scores.astype(np.float32), classes.astype(np.int64)

    def candidates(self, image) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """CenterNet's 100 candidates: boxes in the image's pixels, scores, classes, features (``proposal_head.py``)."""
        from .proposal_head import proposal_features

        if self.backend != "centernet":
            raise ValueError(f"candidates need a CenterNet detector, not {self.backend!r}")
        boxes, scores, classes, features = proposal_features(self._run(image), self.size)
        return self._to_image(boxes, image), scores, classes, features


def _centernet(named: dict[str, Any], size: int, min_score: float):
    det = named["tower_0/detections"][0]
    keep = det[:, 4] >= min_score
    det = det[keep]
    return det[:, :4], det[:, 4], det[:, 5].astype(np.int64)


def _nanodet(named: dict[str, Any], size: int, min_score: float):
    scores_by_cells = {v.shape[1]: v[0] for v in named.values() if v.shape[2] == len(COCO_CLASSES)}
    dists_by_cells = {v.shape[1]: v[0] for v in named.values() if v.shape[2] != len(COCO_CLASSES)}
    all_boxes, all_scores, all_classes = [], [], []
    for stride in (8, 16, 32):
        side = size // stride
        scores, dists = scores_by_cells[side * side], dists_by_cells[side * side]
        cell, cls = np.nonzero(scores >= min_score)
        if not len(cell):
            continue
        bins = dists[cell].reshape(len(cell), 4, -1)
        prob = np.exp(bins - bins.max(-1, keepdims=True))
        prob /= prob.sum(-1, keepdims=True)
        dist = (prob * np.arange(bins.shape[-1], dtype=np.float32)).sum(-1) * stride  # left, top, right, bottom
        cx, cy = (cell % side + 0.5) * stride, (cell // side + 0.5) * stride
        all_boxes.append(np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], 1))
        all_scores.append(scores[cell, cls])
        all_classes.append(cls)
    if not all_boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_classes)
