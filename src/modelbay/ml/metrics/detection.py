"""The "detection" metric family: COCO mAP@0.5 and mAP@0.5:0.95 (pycocotools' evaluator).

A truth is one image's boxes ``[{"label": name, "box": [x0, y0, x1, y1]}, …]`` (pixels); a prediction
is ``[{"label": name, "score": s, "box": …}, …]`` (``box`` may also be a ``{"x0", "y0", "x1", "y1"}`` dict).
Categories are the labels found in the truths: predicted labels no truth has count for nothing
(the data set does not annotate them), as in COCO's evaluation on a subset of its classes. A truth
with ``"iscrowd": true`` is ignored as COCO does.

>>> t = [[{"label": "cat", "box": [0, 0, 10, 10]}]]
>>> p = [[{"label": "cat", "score": 0.9, "box": [0, 0, 10, 10]}]]
>>> round(detection(t, p)["map50"], 3)
1.0
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

from ...core.errors import BadInput
from .common import check_pairs


def _xyxy(box: Any, what: str) -> list[float]:
    if isinstance(box, dict):
        box = [box.get(k) for k in ("x0", "y0", "x1", "y1")]
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise BadInput(f"{what}: a box is [x0, y0, x1, y1] in pixels, got {box!r:.80}") from None
    return [x0, y0, x1, y1]


def _coco_sets(truths: Sequence, preds: Sequence):
    """pycocotools ground truth and detections for the pairs (images numbered from 1)."""
    from pycocotools.coco import COCO

    labels = sorted({str(b["label"]) for t in truths for b in t})
    cat = {name: i + 1 for i, name in enumerate(labels)}
    images, anns, dets = [], [], []
    for i, (truth, pred) in enumerate(zip(truths, preds), start=1):
        images.append({"id": i, "width": 1, "height": 1})
        for b in truth:
            x0, y0, x1, y1 = _xyxy(b.get("box"), f"truth of item {i - 1}")
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": cat[str(b["label"])],
                         "bbox": [x0, y0, x1 - x0, y1 - y0], "area": max(0.0, (x1 - x0) * (y1 - y0)),
                         "iscrowd": int(bool(b.get("iscrowd", False)))})
        for b in pred or []:
            if str(b["label"]) in cat:
                x0, y0, x1, y1 = _xyxy(b.get("box"), f"prediction of item {i - 1}")
                dets.append({"image_id": i, "category_id": cat[str(b["label"])], "bbox": [x0, y0, x1 - x0, y1 - y0],
                             "score": float(b.get("score", 1.0))})
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": v, "name": k} for k, v in cat.items()]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return gt, dets, cat


def detection(truths: Sequence, preds: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """mAP@0.5:0.95 (headline "map", COCO's AP), mAP@0.5, mAP@0.75, AR@100 and AP@0.5 per class."""
    import numpy as np
    from pycocotools.cocoeval import COCOeval

    check_pairs(truths, preds)
    gt, dets, cat = _coco_sets(truths, preds)
    n_boxes = len(gt.dataset["annotations"])
    out: dict[str, Any] = {"headline": "map", "images": len(truths), "truth_boxes": n_boxes,
                           "predicted_boxes": len(dets), "classes": len(cat)}
    if not n_boxes or not dets:
        return out | {"map": 0.0 if n_boxes else None, "map50": 0.0 if n_boxes else None, "map75": None,
                      "ar100": None, "per_class_ap50": {}}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, "bbox")
        # one area range (these images' pixel sizes are not COCO's, so no small/medium/large split) and
        # one detection limit: a quarter of the default work, which the bootstrap repeats per resample
        ev.params.areaRng, ev.params.areaRngLbl, ev.params.maxDets = [[0, 1e10]], ["all"], [100]
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"][:, :, :, 0, 0]  # IoU thresholds x recall points x classes
    recall = ev.eval["recall"][:, :, 0, 0]  # IoU thresholds x classes

    def mean(values) -> float | None:
        values = values[values > -1]
        return float(np.mean(values)) if values.size else None

    per_class = {name: mean(precision[0, :, k - 1]) for name, k in cat.items()}
    return out | {"map": mean(precision), "map50": mean(precision[0]), "map75": mean(precision[5]),
                  "ar100": mean(recall), "per_class_ap50": per_class}
