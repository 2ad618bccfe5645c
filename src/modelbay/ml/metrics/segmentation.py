"""The "segmentation" metric family (mIoU, per-class IoU, pixel accuracy) and the COCO RLE mask codec it reads.

A truth is ``{"mask": <path of a PNG whose pixel value is a class id>, "classes": [name of id 0, name of id 1, …]}``
(pixels of value ``ignore_index``, 255 by default, are not scored); a prediction is
``{"size": [h, w], "segments": [{"label": name, "mask_rle": {"size": [h, w], "counts": …}}, …]}``.
Pixels no segment covers are predicted ``"(none)"``: misses of their truth class, not a class of
their own in the mean (unless a truth names a class ``"(none)"``). Scores pool pixels over the whole data
set, as the Cityscapes/ADE20K benchmarks do: a class's IoU is ``TP / (TP + FP + FN)`` summed over
images, and mIoU averages the classes that occur in a truth or a prediction.

>>> import numpy as np
>>> m = rle_encode(np.array([[0, 1], [1, 1]], bool))
>>> m, rle_decode(m).astype(int).tolist()
({'size': [2, 2], 'counts': '13'}, [[0, 1], [1, 1]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...core.errors import BadInput
from .common import check_pairs, family

if TYPE_CHECKING:
    import numpy as np

#: the truth pixel value that is not scored (VOC, ADE20K convention)
IGNORE_INDEX = 255
#: the class of predicted pixels no segment covers
UNCOVERED = "(none)"


# -- COCO run-length encoding: column-major runs, starting with a run of zeros --------------------------------

def rle_counts(mask: np.ndarray) -> list[int]:
    """Uncompressed COCO counts of a boolean ``(h, w)`` mask: alternating runs of 0s and 1s, column by column."""
    import numpy as np

    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return [0]
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    return [0, *runs] if flat[0] else runs


def _counts_to_string(counts: Sequence[int]) -> str:
    """pycocotools' ``rleToString``: each count (minus the one two back, after the third) in 5-bit groups."""
    out = []
    for i, count in enumerate(counts):
        x = int(count) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if c & 0x10 else (x != 0)
            out.append(chr((c | 0x20 if more else c) + 48))
    return "".join(out)


def _counts_from_string(text: str) -> list[int]:
    """pycocotools' ``rleFrString``."""
    counts: list[int] = []
    p = 0
    while p < len(text):
        x = k = 0
        more = True
        while more:
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        counts.append(x + (counts[-2] if len(counts) > 2 else 0))
    return counts


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """COCO compressed RLE ``{"size": [h, w], "counts": str}`` of a boolean mask (pycocotools ``mask.encode``)."""
    import numpy as np

    h, w = np.shape(mask)
    return {"size": [int(h), int(w)], "counts": _counts_to_string(rle_counts(mask))}


def rle_decode(rle: dict[str, Any]) -> np.ndarray:
    """The boolean ``(h, w)`` mask of a COCO RLE; ``counts`` compressed (a string) or uncompressed (a list)."""
    import numpy as np

    try:
        h, w = (int(v) for v in rle["size"])
        counts = rle["counts"]
        counts = _counts_from_string(counts) if isinstance(counts, str) else [int(c) for c in counts]
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"not a COCO RLE ({exc}); expected {{'size': [h, w], 'counts': str or list}}") from None
    if sum(counts) != h * w or min(counts, default=0) < 0:
        raise BadInput(f"RLE counts add up to {sum(counts)} pixels; size {h}x{w} has {h * w}")
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    return np.repeat(values, counts).reshape((h, w), order="F")


# -- reading truths and predictions ---------------------------------------------------------------------------

def _truth_map(truth: Any) -> tuple[np.ndarray, list[str]]:
    import numpy as np
    from PIL import Image

    if not isinstance(truth, dict) or "mask" not in truth:
        raise BadInput(f"a segmentation truth is {{'mask': <PNG path>, 'classes': [...]}}, got {type(truth).__name__}")
    with Image.open(truth["mask"]) as img:
        ids = np.asarray(img if img.mode in ("L", "P", "I", "I;16") else img.convert("L")).astype(np.int64)
    return ids, [str(c) for c in truth.get("classes") or []]


def _pred_map(pred: Any, shape: tuple[int, int]) -> tuple[np.ndarray, list[str]]:
    """Predicted label indices (0 = uncovered) at the truth's size, and their names."""
    import numpy as np
    from PIL import Image

    names = [UNCOVERED]
    out = None
    for seg in (pred or {}).get("segments", []):
        mask = rle_decode(seg["mask_rle"])
        if out is None:
            out = np.zeros(mask.shape, dtype=np.int32)
        label = str(seg["label"])
        if label not in names:
            names.append(label)
        out[mask] = names.index(label)
    if out is None:
        return np.zeros(shape, dtype=np.int32), names
    if out.shape != shape:  # a prediction at another size: nearest-neighbour to the truth's
        out = np.asarray(Image.fromarray(out).resize((shape[1], shape[0]), Image.NEAREST))
    return out, names


def _confusion(truth: Any, pred: Any, classes: list[str], ignore: int) -> np.ndarray:
    """Pixel counts ``(len(classes), len(classes))``, rows = truth; ``classes`` grows with names first seen."""
    import numpy as np

    ids, names = _truth_map(truth)
    pmap, pnames = _pred_map(pred, ids.shape)
    for name in [*names, *pnames]:
        if name not in classes:
            classes.append(name)
    keep = ids != ignore
    known = ids < len(names)
    if (keep & ~known).any():
        bad = int(ids[keep & ~known][0])
        raise BadInput(f"{truth['mask']}: pixel value {bad} is not a class id (classes: {names})",
                       hint=f"list every id's name in classes.txt; mark pixels to skip with {ignore}")
    t_idx = np.array([classes.index(n) for n in names] or [0])[ids[keep]]
    p_idx = np.array([classes.index(n) for n in pnames])[pmap[keep]]
    n = len(classes)
    return np.bincount(t_idx * n + p_idx, minlength=n * n).reshape(n, n)


def _confusions(truths: Sequence, preds: Sequence, extra: dict | None) -> tuple[list[np.ndarray], list[str]]:
    import numpy as np

    check_pairs(truths, preds)
    ignore = int((extra or {}).get("ignore_index", IGNORE_INDEX))
    classes: list[str] = []
    mats = [_confusion(t, p, classes, ignore) for t, p in zip(truths, preds)]
    n = len(classes)
    padded = []
    for m in mats:  # early items saw fewer classes
        full = np.zeros((n, n), dtype=np.int64)
        full[: m.shape[0], : m.shape[1]] = m
        padded.append(full)
    return padded, classes


def _ious(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def _unscored(mats: list[np.ndarray], classes: list[str]) -> int | None:
    """The index of ``(none)`` when no truth names it: its pixels count against the truth classes (as misses)
    but it is no class of its own, so it is left out of the mean (else every threshold would add a 0)."""
    if UNCOVERED not in classes:
        return None
    k = classes.index(UNCOVERED)
    return k if sum(int(m[k].sum()) for m in mats) == 0 else None


def _class_ious(m: np.ndarray, skip: int | None) -> np.ndarray:
    import numpy as np

    union = (m.sum(0) + m.sum(1) - np.diag(m)).astype(float)
    if skip is not None:
        union[skip] = 0
    return _ious(np.diag(m).astype(float), union)


def _stats(truths, preds, extra, headline):
    import numpy as np

    if headline != "miou":
        return None
    mats, classes = _confusions(truths, preds, extra)
    skip = _unscored(mats, classes)
    rows = np.stack([np.concatenate([np.diag(m), m.sum(0) + m.sum(1) - np.diag(m)]) for m in mats]).astype(float)
    n = rows.shape[1] // 2
    if skip is not None:
        rows[:, n + skip] = 0

    def reduce(sums: np.ndarray) -> np.ndarray:
        return np.nanmean(_ious(sums[:, :n], sums[:, n:]), axis=1)

    return rows, reduce


def _severity(truths, preds, extra) -> list[float | None]:
    import numpy as np

    mats, classes = _confusions(truths, preds, extra)
    skip = _unscored(mats, classes)
    out: list[float | None] = []
    for m in mats:
        ious = _class_ious(m, skip)
        miou = float(np.nanmean(ious)) if m.sum() and not np.isnan(ious).all() else 1.0
        out.append(None if miou >= 1.0 else 1.0 - miou)
    return out


@family(stats=_stats, severity=_severity)
def segmentation(truths: Sequence, preds: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """mIoU, per-class IoU and pixel accuracy, pooled over all pixels of all images.

    ``extra``: ``ignore_index`` (truth pixel value not scored, default 255).
    """
    import numpy as np

    mats, classes = _confusions(truths, preds, extra)
    total = np.sum(mats, axis=0) if mats else np.zeros((0, 0), dtype=np.int64)
    inter = np.diag(total).astype(float)
    truth_px, pred_px = total.sum(1), total.sum(0)
    iou = _class_ious(total, _unscored(mats, classes)) if mats else np.zeros(0)
    present = ~np.isnan(iou)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(truth_px > 0, inter / np.maximum(truth_px, 1), np.nan)
    scored = int(total.sum())
    return {
        "headline": "miou",
        "miou": float(np.nanmean(iou)) if present.any() else None,
        "pixel_accuracy": float(inter.sum() / scored) if scored else None,
        "mean_class_accuracy": float(np.nanmean(recall)) if (truth_px > 0).any() else None,
        "per_class_iou": {c: {"iou": None if np.isnan(iou[i]) else float(iou[i]), "truth_pixels": int(truth_px[i]),
                          "predicted_pixels": int(pred_px[i])} for i, c in enumerate(classes) if present[i]},
        "pixels_scored": scored,
        "images": len(mats),
    }
