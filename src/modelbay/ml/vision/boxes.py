"""Box geometry the detectors share: IoU and non-maximum suppression on ``(x0, y0, x1, y1)`` pixel boxes.

Written here with NumPy rather than taken from torchvision: PyPI's torchvision does not import beside the
project's pinned CPU torch build, and these two functions are all the detectors need of it.
"""

from __future__ import annotations

import numpy as np


def areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of ``(N, 4)`` xyxy boxes; an inverted box has area 0.

    >>> areas(np.array([[0, 0, 2, 3], [5, 5, 4, 4]], dtype=float)).tolist()
    [6.0, 0.0]
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4): an (N, M) array.

    >>> iou(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]])).round(3).tolist()
    [[0.143, 1.0, 0.0]]
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = areas(a)[:, None] + areas(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_kept: int | None = None) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first.

    A box is dropped when it overlaps a better-scoring kept box by more than ``iou_threshold``. Ties in
    score keep the lower index first, so the result does not depend on the sort's stability.

    >>> nms(np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]]), np.array([0.9, 0.8, 0.7]), 0.5).tolist()
    [0, 2]
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"nms: {len(boxes)} boxes but {len(scores)} scores")
    order = np.lexsort((np.arange(len(scores)), -scores))
    kept: list[int] = []
    while order.size and (max_kept is None or len(kept) < max_kept):
        best, rest = order[0], order[1:]
        kept.append(int(best))
        order = rest[iou(boxes[best], boxes[rest])[0] <= iou_threshold]
    return np.array(kept, dtype=np.int64)


def nms_per_class(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float,
                  max_kept: int | None = None) -> np.ndarray:
    """NMS within each class only (a person and a bicycle may overlap), best score first overall.

    >>> b = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [1, 1, 10, 10]])
    >>> nms_per_class(b, np.array([0.9, 0.8, 0.7]), np.array([0, 0, 1]), 0.5).tolist()
    [0, 2]
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    # offsetting each class far apart makes one NMS pass never compare boxes of different classes
    offset = (np.asarray(classes, dtype=np.float64) * (boxes.max() + 1.0))[:, None]
    return nms(boxes + offset, scores, iou_threshold, max_kept)
