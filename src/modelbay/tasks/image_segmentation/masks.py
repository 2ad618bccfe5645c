"""From a label map (one index per pixel) to the task's output: segments with COCO RLE masks, and a mask PNG.

Every backend returns a :class:`LabelMap`: ``index`` is an ``(h, w)`` int array where ``k >= 1`` is
``names[k - 1]`` and 0 is "no segment" (below a threshold, filtered out, too small), plus an
optional per-pixel ``confidence`` (the winning class's probability) that segment scores average.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...ml.metrics.segmentation import rle_decode, rle_encode

if TYPE_CHECKING:
    import numpy as np

__all__ = ["LabelMap", "label_map_of", "mask_png", "outlined", "segments_of"]


@dataclass
class LabelMap:
    index: np.ndarray               # (h, w) int32: 0 = no segment, k = names[k - 1]
    names: list[str]
    confidence: np.ndarray | None = None   # (h, w) float32 probability of the winning class, or None


def _box(mask: np.ndarray) -> list[int]:
    """``[x0, y0, x1, y1]`` in pixels, exclusive of x1/y1 (so ``x1 - x0`` is the width)."""
    import numpy as np

    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]


def segments_of(labels: LabelMap, *, keep: set[str] | None = None, min_area_px: int = 0) -> list[dict[str, Any]]:
    """One segment per name that covers at least ``min_area_px`` pixels, largest first (ties: by name).

    Segments of names outside ``keep`` (when given) are left out, as are their pixels from the mask PNG.
    """
    import numpy as np

    counts = np.bincount(labels.index.ravel(), minlength=len(labels.names) + 1)
    order = sorted(range(1, len(labels.names) + 1), key=lambda k: (-int(counts[k]), labels.names[k - 1]))
    out = []
    for k in order:
        name, area = labels.names[k - 1], int(counts[k])
        if area == 0 or area < min_area_px or (keep is not None and name not in keep):
            continue
        mask = labels.index == k
        score = None if labels.confidence is None else round(float(labels.confidence[mask].mean()), 4)
        out.append({"label": name, "score": score, "area_px": area, "box": _box(mask), "mask_rle": rle_encode(mask)})
    return out


def label_map_of(segments: list[dict[str, Any]], height: int, width: int):
    """The ``(h, w)`` index map of an output's segments: pixel value ``k`` is ``segments[k - 1]``, 0 is none."""
    import numpy as np

    index = np.zeros((height, width), dtype=np.int32)
    for k, seg in enumerate(segments, start=1):
        rle = seg["mask_rle"] if isinstance(seg, dict) else seg.mask_rle.model_dump()
        index[rle_decode(rle)] = k
    return index


def mask_png(index: np.ndarray) -> str:
    """Base64 PNG of an index map: 8-bit grey when it has at most 255 segments, else 16-bit."""
    import numpy as np
    from PIL import Image

    img = Image.fromarray(index.astype(np.uint8)) if index.max(initial=0) <= 255 else \
        Image.fromarray(index.astype(np.uint16))
    from ...ml.vision.draw import png_bytes

    return base64.b64encode(png_bytes(img)).decode("ascii")


def outlined(image, index: np.ndarray, color: tuple[int, int, int] = (255, 255, 255)):
    """A copy of ``image`` with the borders between segments drawn one pixel wide."""
    import numpy as np
    from PIL import Image
    from skimage.segmentation import find_boundaries

    pixels = np.asarray(image.convert("RGB")).copy()
    pixels[find_boundaries(index, mode="inner") & (index > 0)] = color
    return Image.fromarray(pixels)
