"""Labelled detection data: YOLO folders, COCO JSON and labelme JSON, read into one record shape.

Every reader returns ``{"image": <absolute path>, "boxes": [{"label": name, "box": [x0, y0, x1, y1]}, …]}``
per image (pixels of the image as stored; EXIF rotation is not applied, as the annotation tools don't).

* YOLO: ``images/`` (any depth) beside ``labels/`` holding ``<stem>.txt`` rows ``class cx cy w h`` (0..1), and
  the class names in ``classes.txt`` / ``obj.names`` (one a line) or ``data.yaml`` (``names:``).
* COCO: a ``.json`` file (or a folder with ``annotations.json`` / ``instances*.json``) with ``images``,
  ``annotations`` (``bbox`` = x, y, w, h) and ``categories``; ``file_name`` is relative to the JSON's folder,
  its ``images/`` or ``JPEGImages/``.
* labelme: a folder of ``*.json`` files with ``shapes`` (rectangles and polygons become boxes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...core.errors import BadInput

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def read_detection_data(path: Path) -> list[dict[str, Any]]:
    """Records from a YOLO folder, a COCO JSON (file or folder) or a labelme folder, told apart by their files."""
    path = Path(path)
    if path.is_file() and path.suffix == ".json":
        return read_coco(path)
    if not path.is_dir():
        raise BadInput(f"{path}: not a folder or a COCO .json file", hint="give a YOLO folder, a COCO JSON or a labelme folder")
    if (path / "labels").is_dir():
        return read_yolo(path)
    for name in ("annotations.json", *sorted(p.name for p in path.glob("instances*.json"))):
        if (path / name).is_file():
            return read_coco(path / name)
    if any(path.glob("*.json")):
        return read_labelme(path)
    raise BadInput(f"{path}: no labels/ folder (YOLO), COCO annotations.json or labelme *.json found")


def read_coco(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        names = {c["id"]: str(c["name"]) for c in data["categories"]}
        boxes: dict[Any, list] = {img["id"]: [] for img in data["images"]}
        for ann in data["annotations"]:
            x, y, w, h = (float(v) for v in ann["bbox"])
            boxes[ann["image_id"]].append({"label": names[ann["category_id"]], "box": [x, y, x + w, y + h],
                                           **({"iscrowd": True} if ann.get("iscrowd") else {})})
        records = [{"image": str(_find_image(path.parent, img["file_name"])), "boxes": boxes[img["id"]]}
                   for img in data["images"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"{path}: not COCO detection JSON ({type(exc).__name__}: {exc})",
                       hint="it needs images, annotations (with bbox) and categories") from None
    return _non_empty(records, path)


def _find_image(root: Path, file_name: str) -> Path:
    for folder in (root, root / "images", root / "JPEGImages", root.parent / "images"):
        if (folder / file_name).is_file():
            return (folder / file_name).resolve()
    raise BadInput(f"image {file_name!r} of {root} not found", hint="put it beside the JSON or in images/")


def read_yolo(root: Path) -> list[dict[str, Any]]:
    from PIL import Image

    names = _yolo_names(root)
    records = []
    for image in sorted(p for p in (root / "images").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        rel = image.relative_to(root / "images").with_suffix(".txt")
        label_file = root / "labels" / rel
        with Image.open(image) as img:
            w, h = img.size
        boxes = []
        lines = label_file.read_text(encoding="utf-8").splitlines() if label_file.is_file() else []
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                cls, cx, cy, bw, bh = line.split()[:5]
                cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
                label = names[int(cls)]
            except (ValueError, IndexError):
                raise BadInput(f"{label_file}:{n}: expected 'class cx cy w h' with a class id < {len(names)}, got {line!r}") from None
            boxes.append({"label": label, "box": [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]})
        records.append({"image": str(image.resolve()), "boxes": boxes})
    return _non_empty(records, root)


def _yolo_names(root: Path) -> list[str]:
    for name in ("classes.txt", "obj.names"):
        if (root / name).is_file():
            return [line.strip() for line in (root / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    if (root / "data.yaml").is_file():
        import yaml

        names = yaml.safe_load((root / "data.yaml").read_text(encoding="utf-8")).get("names")
        return [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else [str(n) for n in names or []]
    raise BadInput(f"{root}: YOLO data needs its class names", hint="add classes.txt (one name a line) or data.yaml")


def read_labelme(root: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(root.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        boxes = []
        for shape in data.get("shapes", []):
            if shape.get("shape_type", "polygon") not in ("rectangle", "polygon") or not shape.get("points"):
                continue
            if str(shape["label"]).startswith("__"):  # labelme's __ignore__ regions: not scored
                continue
            xs, ys = [float(p[0]) for p in shape["points"]], [float(p[1]) for p in shape["points"]]
            boxes.append({"label": str(shape["label"]), "box": [min(xs), min(ys), max(xs), max(ys)]})
        records.append({"image": str((path.parent / data["imagePath"]).resolve()), "boxes": boxes})
    return _non_empty(records, root)


def _non_empty(records: list[dict[str, Any]], where: Path) -> list[dict[str, Any]]:
    if not records:
        raise BadInput(f"{where}: no images found")
    return records


def map_labels(records: list[dict[str, Any]], mapping: dict[str, str]) -> list[dict[str, Any]]:
    """The records with labels renamed by ``mapping`` (others kept): e.g. VOC's ``tvmonitor`` to COCO's ``tv``."""
    return [{**r, "boxes": [{**b, "label": mapping.get(b["label"], b["label"])} for b in r["boxes"]]} for r in records]


#: PASCAL VOC's names of classes COCO also has, under COCO's names
VOC_TO_COCO = {"aeroplane": "airplane", "diningtable": "dining table", "motorbike": "motorcycle",
               "pottedplant": "potted plant", "sofa": "couch", "tvmonitor": "tv"}
