"""Small labelled image sets made in code, for the training tests and the README test (smoke data, not evidence).

``detection_set``: scikit-image's cat, espresso cup and astronaut pasted at random sizes and places on its
grass/gravel/brick textures, as YOLO files labelled "tabby", "espresso" (names COCO lacks) and "person".
``segmentation_set``: crops of scikit-image photos with an ellipse of cat fur and a rectangle of coffee pasted
on; the masks are those shapes. Both are seeded, so the same call makes the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data as skimage_data

SEGMENTATION_CLASSES = ["background", "cat", "coffee"]


def detection_set(root: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    backs = [Image.fromarray(getattr(skimage_data, k)()).convert("RGB") for k in ("grass", "gravel", "brick")]
    objects = [Image.fromarray(skimage_data.chelsea()), Image.fromarray(skimage_data.coffee()).crop((150, 10, 430, 310)),
               Image.fromarray(skimage_data.astronaut()).crop((0, 0, 380, 512))]
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "classes.txt").write_text("tabby\nespresso\nperson\n")
    width, height = 640, 360
    for i in range(n):
        canvas = backs[i % 3].resize((width, height))
        rows = []
        for column, cls in enumerate(rng.permutation(3)):
            obj = objects[cls]
            w = int(rng.uniform(0.22, 0.32) * width)
            h = min(int(w * obj.height / obj.width), height - 10)
            piece = obj.resize((w, h))
            if rng.random() < 0.5:
                piece = piece.transpose(Image.FLIP_LEFT_RIGHT)
            x, y = column * width // 3 + int(rng.uniform(0, width / 3 - w)), int(rng.uniform(0, height - h))
            canvas.paste(piece, (x, y))
            rows.append(f"{cls} {(x + w / 2) / width} {(y + h / 2) / height} {w / width} {h / height}")
        canvas.save(root / "images" / f"{i:03d}.jpg", quality=90)
        (root / "labels" / f"{i:03d}.txt").write_text("\n".join(rows) + "\n")


def segmentation_set(root: Path, n: int, seed: int, size: tuple[int, int] = (96, 80)) -> Path:
    """``root/images/NNN.jpg`` + ``root/masks/NNN.png`` + ``root/classes.txt`` (see the module docstring)."""
    textures = {1: skimage_data.chelsea(), 2: skimage_data.coffee()}
    backgrounds = [skimage_data.astronaut(), skimage_data.rocket(), skimage_data.immunohistochemistry()]
    rng = np.random.default_rng(seed)
    w, h = size
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text("\n".join(SEGMENTATION_CLASSES) + "\n")

    def crop(arr):
        y, x = rng.integers(0, arr.shape[0] - h), rng.integers(0, arr.shape[1] - w)
        return Image.fromarray(arr[y:y + h, x:x + w])

    for i in range(n):
        img, mask = crop(backgrounds[i % 3]), Image.new("L", size, 0)
        for cid in (1, 2):
            x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 36))
            box = (x0, y0, x0 + int(rng.integers(24, 40)), y0 + int(rng.integers(20, 36)))
            shape = Image.new("L", size, 0)
            (ImageDraw.Draw(shape).ellipse if cid == 1 else ImageDraw.Draw(shape).rectangle)(box, fill=255)
            img.paste(crop(textures[cid]), (0, 0), shape)
            mask.paste(cid, (0, 0), shape)
        img.save(root / "images" / f"{i:03d}.jpg", quality=92)
        mask.save(root / "masks" / f"{i:03d}.png")
    return root
