"""Classical, unsupervised segmentation (scikit-image): regions of similar colour, not classes.

No model is learned and no label means anything beyond "this region": segments are called
``region 1``, ``region 2``… from the largest down. Methods:

* ``slic`` — SLIC superpixels (k-means in colour + position; ``n_segments`` regions of about equal size);
* ``felzenszwalb`` — graph-based merging (Felzenszwalb & Huttenlocher 2004; ``scale`` sets region size);
* ``watershed`` — compact watershed of the Sobel gradient from ``n_segments`` grid markers;
* ``grabcut`` — OpenCV's GrabCut foreground/background from the input's ``box`` around the foreground, or a
  box ``margin`` in from the edges (default 10%):
  two segments, ``foreground`` and ``background`` — still no classes, just "the thing in the middle". Needs
  ``cv2`` (opencv-python, which modelbay installs for the ocr task); without it the method is a BadInput.

Images are segmented at ``max_side_px`` on their longer side (default 512) and the regions scaled back.
"""

from __future__ import annotations

from typing import Any

from ...core.errors import BadInput
from .masks import LabelMap

METHODS = ("slic", "felzenszwalb", "watershed", "grabcut")


def segment_classical(img, method: str, options: dict[str, Any]) -> LabelMap:
    """Regions of a PIL RGB image by ``method``; ``options``: n_segments, compactness, scale, sigma, min_size…"""
    import numpy as np
    from PIL import Image

    if method not in METHODS:
        raise BadInput(f"method: unknown classical method {method!r}; known: {', '.join(METHODS)}")
    if "box" in options and method != "grabcut":
        raise BadInput(f"box: only the grabcut method takes a box, not {method}", hint="add method=grabcut")
    max_side = int(options.get("max_side_px", 512))
    small = img.copy()
    small.thumbnail((max_side, max_side), Image.BILINEAR)
    rgb = np.asarray(small)
    if method == "slic":
        regions = _slic(rgb, options)
    elif method == "felzenszwalb":
        regions = _felzenszwalb(rgb, options)
    elif method == "watershed":
        regions = _watershed(rgb, options)
    else:
        return _grabcut(rgb, img.size, options)
    if small.size != img.size:
        regions = np.asarray(Image.fromarray(regions.astype(np.int32)).resize(img.size, Image.NEAREST))
    return _by_area(regions)


def _slic(rgb, options: dict[str, Any]):
    from skimage.segmentation import slic

    return slic(rgb, n_segments=int(options.get("n_segments", 32)), compactness=float(options.get("compactness", 10.0)),
                sigma=float(options.get("sigma", 1.0)), start_label=1, channel_axis=-1)


def _felzenszwalb(rgb, options: dict[str, Any]):
    from skimage.segmentation import felzenszwalb

    return felzenszwalb(rgb, scale=float(options.get("scale", 200.0)), sigma=float(options.get("sigma", 0.8)),
                        min_size=int(options.get("min_size", 50)), channel_axis=-1) + 1


def _watershed(rgb, options: dict[str, Any]):
    from skimage.color import rgb2gray
    from skimage.filters import sobel
    from skimage.segmentation import watershed

    gradient = sobel(rgb2gray(rgb))
    return watershed(gradient, markers=int(options.get("n_segments", 32)),
                     compactness=float(options.get("compactness", 0.001)))


def _grabcut(rgb, size: tuple[int, int], options: dict[str, Any]) -> LabelMap:
    import numpy as np
    from PIL import Image

    try:
        import cv2
    except ImportError:
        raise BadInput("method: grabcut needs OpenCV, which is not installed",
                       hint="pip install 'opencv-python-headless<5', or use slic, felzenszwalb or watershed") from None
    h, w = rgb.shape[:2]
    rect = _grabcut_rect(options.get("box"), size, (w, h), float(options.get("margin", 0.1)))
    mask = np.zeros((h, w), np.uint8)
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(rgb[:, :, ::-1].copy(), mask, rect, np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64),
                    int(options.get("iterations", 5)), cv2.GC_INIT_WITH_RECT)
    except cv2.error as exc:  # e.g. no background pixels around the box: nothing to learn it from
        raise BadInput(f"method: grabcut could not run on this {size[0]}x{size[1]} image ({str(exc).strip()[-90:]})",
                       hint="use a larger image, or a box with background pixels outside it") from None
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.int32)
    index = np.where(fg == 1, 1, 2).astype(np.int32)
    if (w, h) != size:
        index = np.asarray(Image.fromarray(index).resize(size, Image.NEAREST))
    return LabelMap(index=index, names=["foreground", "background"])


def _grabcut_rect(box, size: tuple[int, int], small: tuple[int, int], margin: float) -> tuple[int, int, int, int]:
    """OpenCV's ``(x, y, width, height)`` at the working size, from ``box`` in the image's pixels or the margin."""
    w, h = small
    if box is None:
        return int(w * margin), int(h * margin), max(1, int(w * (1 - 2 * margin))), max(1, int(h * (1 - 2 * margin)))
    x0, y0, x1, y1 = (int(v) for v in box)
    if not (0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1]) or (x1 - x0) * (y1 - y0) >= size[0] * size[1]:
        raise BadInput(f"box: {list(box)} must be [x0, y0, x1, y1] with 0 <= x0 < x1 <= {size[0]}, "
                       f"0 <= y0 < y1 <= {size[1]}, smaller than the whole image (GrabCut learns the background outside it)")
    sx, sy = w / size[0], h / size[1]
    return int(x0 * sx), int(y0 * sy), max(1, round((x1 - x0) * sx)), max(1, round((y1 - y0) * sy))


def _by_area(regions) -> LabelMap:
    """Relabel regions 1..K from the largest to the smallest (ties by first pixel), named ``region k``."""
    import numpy as np

    ids, first, counts = np.unique(regions.ravel(), return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    lookup = np.zeros(int(ids.max()) + 1, dtype=np.int32)
    lookup[ids[order]] = np.arange(1, len(ids) + 1, dtype=np.int32)
    return LabelMap(index=lookup[regions], names=[f"region {k}" for k in range(1, len(ids) + 1)])
