"""Pictures of results people can look at: boxes, polygons, points and masks drawn on a copy of the image.

Every image task's ``render`` (``modelbay run … --render out.png``, ``"render": true``) draws with these, so
colours, label boxes and fonts look the same everywhere. Labels in Chinese need a CJK font: the first one
found of Debian's ``fonts-wqy-microhei``/``fonts-noto-cjk`` (or ``MODELBAY_FONT``, a .ttf/.ttc path) is used;
without one, Latin labels still draw with DejaVu or Pillow's own font and CJK characters show as boxes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

#: a colour-blind-friendly palette (Okabe-Ito, then Tableau), picked by a stable hash of the key
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0), (204, 121, 167),
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194),
)
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def color_for(key: str) -> tuple[int, int, int]:
    """The palette colour of ``key``: the same label gets the same colour in every picture and every run.

    >>> color_for("person") == color_for("person")
    True
    """
    digest = hashlib.blake2s(str(key).encode("utf-8"), digest_size=4).digest()
    return PALETTE[int.from_bytes(digest, "big") % len(PALETTE)]


@functools.lru_cache(maxsize=1)
def font_path() -> str | None:
    """The font labels are drawn with: ``MODELBAY_FONT``, a known CJK font, fontconfig's pick for Chinese, or DejaVu."""
    chosen = os.environ.get("MODELBAY_FONT")
    if chosen and os.path.isfile(chosen):
        return chosen
    for path in FONT_CANDIDATES[:-1]:
        if os.path.isfile(path):
            return path
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh"], capture_output=True, text=True,
                                   timeout=5, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        if found and os.path.isfile(found) and "DejaVu" not in found:
            return found
    return FONT_CANDIDATES[-1] if os.path.isfile(FONT_CANDIDATES[-1]) else None


@functools.lru_cache(maxsize=16)
def label_font(size_px: int):
    from PIL import ImageFont

    path = font_path()
    if path:
        try:
            return ImageFont.truetype(path, size_px)
        except OSError:
            pass
    return ImageFont.load_default(size=size_px)


def _label_size_px(image) -> int:
    return max(11, min(28, round(min(image.size) / 32)))


def _line_width_px(image) -> int:
    return max(2, round(min(image.size) / 250))


def _draw_label(draw, xy: tuple[float, float], text: str, color: tuple[int, int, int], font) -> None:
    """``text`` on a filled box of ``color`` whose bottom-left corner is ``xy`` (moved inside the picture)."""
    if not text:
        return
    x, y = xy
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    width, height = right - left + 6, bottom - top + 4
    x = max(0.0, min(x, draw.im.size[0] - width))
    y = y - height if y - height >= 0 else y
    draw.rectangle((x, y, x + width, y + height), fill=color)
    ink = (0, 0, 0) if sum(color) > 382 else (255, 255, 255)
    draw.text((x + 3 - left, y + 2 - top), text, fill=ink, font=font)


def draw_boxes(image, boxes: Sequence[Sequence[float]], labels: Sequence[str], keys: Sequence[str] | None = None):
    """A copy of ``image`` with each ``(x0, y0, x1, y1)`` pixel box outlined and labelled; colour by key (or label)."""
    from PIL import ImageDraw

    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    font, width = label_font(_label_size_px(out)), _line_width_px(out)
    for i, (box, label) in enumerate(zip(boxes, labels)):
        x0, y0, x1, y1 = (float(v) for v in box)
        color = color_for(keys[i] if keys else label)
        draw.rectangle((x0, y0, max(x0, x1), max(y0, y1)), outline=color, width=width)
        _draw_label(draw, (x0, y0), label, color, font)
    return out


def draw_polygons(image, polygons: Sequence[Sequence[tuple[float, float]]], labels: Sequence[str],
                  keys: Sequence[str] | None = None):
    """A copy of ``image`` with each polygon (e.g. a rotated text box's four corners) outlined and labelled."""
    from PIL import ImageDraw

    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    font, width = label_font(_label_size_px(out)), _line_width_px(out)
    for i, (points, label) in enumerate(zip(polygons, labels)):
        corners = [(float(x), float(y)) for x, y in points]
        if len(corners) < 2:
            continue
        color = color_for(keys[i] if keys else label)
        draw.line([*corners, corners[0]], fill=color, width=width)
        top_left = min(corners, key=lambda p: (p[1], p[0]))
        _draw_label(draw, top_left, label, color, font)
    return out


def draw_points(image, points: Sequence[tuple[float, float]], radius_px: int = 2, key: str = "points"):
    """A copy of ``image`` with a filled dot at each ``(x, y)`` (landmarks, keypoints)."""
    from PIL import ImageDraw

    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    color = color_for(key)
    for x, y in points:
        draw.ellipse((x - radius_px, y - radius_px, x + radius_px, y + radius_px), fill=color, outline=(0, 0, 0))
    return out


def overlay_mask(image, mask: Any, alpha: float = 0.5, keys: Sequence[str] | None = None):
    """A copy of ``image`` with a mask blended over it.

    ``mask`` is an ``(H, W)`` array: booleans (one colour) or integer class ids (0 is background, left
    clear; id ``i`` is coloured by ``keys[i]`` when given, else by the id).
    """
    import numpy as np
    from PIL import Image

    base = image.convert("RGB")
    ids = np.asarray(mask)
    if ids.shape != (base.height, base.width):
        raise ValueError(f"mask is {ids.shape[::-1]} (w, h) but the image is {base.size}")
    ids = ids.astype(np.int64)
    pixels = np.asarray(base, dtype=np.float32).copy()
    for class_id in np.unique(ids):
        if class_id == 0:
            continue
        key = keys[class_id] if keys and class_id < len(keys) else str(class_id)
        where = ids == class_id
        pixels[where] = (1 - alpha) * pixels[where] + alpha * np.asarray(color_for(key), dtype=np.float32)
    return Image.fromarray(pixels.round().clip(0, 255).astype(np.uint8))


def blur_regions(image, boxes: Sequence[Sequence[float]], strength_px: int = 12):
    """A copy of ``image`` with each box blurred past recognition (faces, plates): privacy before sharing."""
    from PIL import ImageFilter

    out = image.convert("RGB").copy()
    for box in boxes:
        x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
        x1, y1 = min(out.width, int(float(box[2]) + 0.5)), min(out.height, int(float(box[3]) + 0.5))
        if x1 <= x0 or y1 <= y0:
            continue
        region = out.crop((x0, y0, x1, y1))
        # blur radius grows with the region, so a large face is as unreadable as a small one
        radius = max(strength_px, max(x1 - x0, y1 - y0) // 6)
        out.paste(region.filter(ImageFilter.GaussianBlur(radius)), (x0, y0))
    return out


def image_bytes(image, fmt: str = "PNG") -> bytes:
    """The image encoded as ``fmt`` (PNG, JPEG, BMP…): renders, masks, and the tasks' example inputs."""
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def png_bytes(image) -> bytes:
    """The image encoded as PNG."""
    return image_bytes(image, "PNG")


__all__ = ["blur_regions", "color_for", "draw_boxes", "draw_points", "draw_polygons", "font_path", "image_bytes", "label_font",
           "overlay_mask", "png_bytes"]
