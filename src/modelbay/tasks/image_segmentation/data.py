"""Labelled segmentation data: ``DIR/images/<stem>.<jpg|png|…>`` with ``DIR/masks/<stem>.png``.

A mask is a single-channel PNG (8-bit grey or palette, or 16-bit) of the image's size whose pixel
value is a class id; 255 marks pixels to ignore. ``DIR/classes.txt`` names the ids, one per line
(line 1 is id 0, usually ``background``); without it ids are named ``class 0``, ``class 1``…

>>> data = read_mask_folder("pets/")                       # doctest: +SKIP
>>> data.classes, data.records[0]["mask"]["mask"]           # doctest: +SKIP
(['background', 'cat'], '/home/me/pets/masks/001.png')
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
LAYOUT_HINT = ("lay the data out as DIR/images/<stem>.jpg and DIR/masks/<stem>.png (pixel value = class id, "
               "255 = ignore), with DIR/classes.txt naming id 0, 1, … one per line")
MAX_CLASSES = 255


@dataclass
class MaskSet:
    records: list[dict[str, Any]]     # {"image": path, "mask": {"mask": path, "classes": [...]}}
    classes: list[str]
    fingerprint: str                  # sha256 over (stem, image bytes, mask bytes, classes)


def read_classes(root: Path) -> list[str] | None:
    path = root / "classes.txt"
    if not path.exists():
        return None
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names or len(names) > MAX_CLASSES or len(set(names)) != len(names):
        raise BadInput(f"{path}: need 1 to {MAX_CLASSES} distinct class names, one per line (found {len(names)})")
    return names


def read_mask_folder(root: str | Path) -> MaskSet:
    """Pair every image with its mask; errors name the file (a missing mask, a size mismatch, an RGB mask)."""
    from PIL import Image

    root = Path(root).expanduser().resolve()
    images_dir, masks_dir = root / "images", root / "masks"
    if not images_dir.is_dir() or not masks_dir.is_dir():
        raise BadInput(f"{root}: no images/ and masks/ folders", hint=LAYOUT_HINT)
    images = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))
    if not images:
        raise BadInput(f"{images_dir}: no images", hint=LAYOUT_HINT)
    classes = read_classes(root)
    digest = hashlib.sha256()
    pairs, top_id = [], 0
    for image in images:
        mask = masks_dir / f"{image.stem}.png"
        if not mask.exists():
            raise BadInput(f"{image}: no mask {mask.name} in {masks_dir}", hint=LAYOUT_HINT)
        with Image.open(image) as im, Image.open(mask) as mk:
            if im.size != mk.size:
                raise BadInput(f"{mask}: mask is {mk.size[0]}x{mk.size[1]} but its image is {im.size[0]}x{im.size[1]}")
            if mk.mode not in ("L", "P", "I", "I;16", "1"):
                raise BadInput(f"{mask}: mask has {mk.mode} pixels; it must be one channel of class ids",
                               hint="save it as an 8-bit grey (mode L) or palette PNG")
            top_id = max(top_id, _top_id(mk))
        digest.update(image.stem.encode() + image.read_bytes() + mask.read_bytes())
        pairs.append((image, mask))
    if classes is None:
        classes = [f"class {i}" for i in range(top_id + 1)]
    elif top_id >= len(classes):
        raise BadInput(f"{masks_dir}: a mask has class id {top_id} but classes.txt names {len(classes)} ids",
                       hint="add the missing names to classes.txt, or mark pixels to skip with 255")
    digest.update("\n".join(classes).encode())
    records = [{"image": str(i), "mask": {"mask": str(m), "classes": classes}} for i, m in pairs]
    return MaskSet(records=records, classes=classes, fingerprint=digest.hexdigest())


def _top_id(mask) -> int:
    """The largest class id in a mask, not counting the ignore value 255."""
    import numpy as np

    ids = np.unique(np.asarray(mask))
    ids = ids[ids != 255]
    return int(ids.max()) if len(ids) else 0


def load_mask(path: str | Path):
    """A mask PNG as an ``(h, w)`` int64 array of class ids."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as mk:
        return np.asarray(mk).astype(np.int64)
