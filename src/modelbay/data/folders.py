"""Labelled image sets: a folder per class (``photos/cat/*.jpg``, ``photos/dog/*.png``) or a table of paths.

Every image is decoded once while reading (with the limits of ``core/media.py``), so a
corrupt or truncated file fails here, naming the file, before any training starts. The
bytes read along the way give the data set's fingerprint (sha256 over relative path,
label and content) for the model card.

>>> data = read_image_folder("photos/")          # doctest: +SKIP
>>> data.counts                                   # doctest: +SKIP
{'cracked': 41, 'ok': 120}
>>> data.records[0]                               # doctest: +SKIP
{'image': '/home/me/photos/cracked/001.jpg', 'label': 'cracked'}
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from .roots import check_readable, confined

#: file extensions read as images (case-insensitive); anything else in a class folder is skipped and listed
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
_LAYOUT_HINT = "lay the data out as DIR/<class name>/<image files>, one folder per class, at least 2 classes"


@dataclass
class ImageSet:
    """Images with labels, as read and checked from disk."""

    source: Path
    records: list[dict[str, str]]                        # {"image": absolute path, "label": class}
    labels: list[str]                                    # sorted class names
    counts: dict[str, int]                               # images per class
    fingerprint: str                                     # sha256 over (relative path, label, bytes)
    skipped: list[str] = field(default_factory=list)     # files ignored: not images by extension

    def summary(self) -> str:
        """``"161 images in 2 classes: cracked 41, ok 120"`` (class names left out in a server job)."""
        if confined():
            return f"{len(self.records)} images in {len(self.labels)} classes, the smallest with {min(self.counts.values())}"
        per_class = ", ".join(f"{label} {n}" for label, n in self.counts.items())
        return f"{len(self.records)} images in {len(self.labels)} classes: {per_class}"


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def read_image_folder(root: str | Path, *, check: bool = True, min_classes: int = 2,
                      progress: Callable[[int, int], None] | None = None) -> ImageSet:
    """Read ``root/<class>/**/<image>``: hidden files and folders are skipped, so are non-image files.

    Errors (BadInput) name the problem: a file that does not decode, a class folder without
    images, fewer than 2 classes, images lying directly in ``root``. ``check=False`` skips
    decoding (the fingerprint then covers paths and sizes only).
    """
    root = check_readable(Path(root).expanduser())
    if not root.is_dir():
        raise BadInput(f"no such folder: {root}", hint=_LAYOUT_HINT)
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = sorted(p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                   and not p.name.startswith("."))
    if loose and not class_dirs:
        raise BadInput(f"{root}: images lie directly in the folder ({', '.join(loose[:3])}…) but a folder per class is needed",
                       hint=_LAYOUT_HINT)
    pairs: list[tuple[Path, str]] = []
    skipped: list[str] = []
    for class_dir in class_dirs:
        found = 0
        for path in sorted(class_dir.rglob("*")):
            if not path.is_file() or _hidden(path, root):
                continue
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                skipped.append(str(path.relative_to(root)))
                continue
            pairs.append((path, class_dir.name))
            found += 1
        if not found:
            raise BadInput(f"class folder {class_dir} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})",
                           hint="remove the empty folder or add its images")
    return _checked(root, pairs, skipped, check=check, progress=progress, relative_to=root, min_classes=min_classes)


def read_image_table(path: str | Path, options: dict[str, Any] | None = None, *, check: bool = True,
                     min_classes: int = 2, progress: Callable[[int, int], None] | None = None) -> ImageSet:
    """A CSV/TSV/JSONL/Parquet table with an image path column and a label column.

    Columns: ``options["image_col"]`` (or ``text_col``, what ``--text-col`` sets; default
    ``image``) and ``options["label_col"]`` (default ``label``). Relative paths are relative
    to the table's folder.
    """
    from .loaders import read_labelled_table

    options = options or {}
    path = Path(path).expanduser()
    rows = read_labelled_table(path, input_field="image", target_field="label",
                               input_col=options.get("image_col") or options.get("text_col"),
                               target_col=options.get("label_col"), path_fields=("image",))
    pairs = [(Path(r["image"]), str(r["label"])) for r in rows]
    return _checked(path, pairs, [], check=check, progress=progress, relative_to=path.parent, min_classes=min_classes)


def read_images(path: str | Path, options: dict[str, Any] | None = None, *, check: bool = True,
                min_classes: int = 2, progress: Callable[[int, int], None] | None = None) -> ImageSet:
    """A folder per class, or a table of image paths and labels (by what ``path`` is)."""
    path = check_readable(Path(path).expanduser())
    if path.is_dir():
        return read_image_folder(path, check=check, min_classes=min_classes, progress=progress)
    if path.is_file():
        return read_image_table(path, options, check=check, min_classes=min_classes, progress=progress)
    raise BadInput(f"no such file or folder: {path}", hint=_LAYOUT_HINT)


def _checked(source: Path, pairs: Iterable[tuple[Path, str]], skipped: list[str], *, check: bool,
             progress: Callable[[int, int], None] | None, relative_to: Path, min_classes: int) -> ImageSet:
    from ..core.media import decode_image, media_bytes

    pairs = list(pairs)
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    records = []
    for i, (path, label) in enumerate(pairs):
        check_readable(path, what="an image file", quote_path=False)  # in a server job: a symlink may point anywhere
        try:
            rel = path.relative_to(relative_to).as_posix()
        except ValueError:
            rel = path.as_posix()
        if check:
            try:
                data = media_bytes(path, kind="image", field=str(path), allow_paths=True)
                decode_image(data, field=str(path))
            except BadInput as exc:  # PayloadTooLarge included: the message already names the file
                raise type(exc)(exc.message, hint=f"fix or delete {path}, then train again") from None
            digest.update(f"{rel}\0{label}\0{len(data)}\0".encode())
            digest.update(hashlib.sha256(data).digest())
        else:
            digest.update(f"{rel}\0{label}\0{path.stat().st_size}\0".encode())
        records.append({"image": str(path.resolve()), "label": label})
        counts[label] = counts.get(label, 0) + 1
        if progress is not None and (i + 1) % 256 == 0:
            progress(i + 1, len(pairs))
    if progress is not None:
        progress(len(pairs), len(pairs))
    labels = sorted(counts)
    if not labels:
        raise BadInput(f"{source}: found no images", hint=_LAYOUT_HINT)
    if len(labels) < min_classes:
        found = "" if confined() else f" ({', '.join(repr(x) for x in labels)})"
        raise BadInput(f"{source}: found {len(labels)} class{found}; a classifier needs at least {min_classes} classes",
                       hint=_LAYOUT_HINT)
    return ImageSet(source=source, records=records, labels=labels, counts={k: counts[k] for k in labels},
                    fingerprint=digest.hexdigest(), skipped=skipped)
