"""``modelbay run … --render PATH``: pictures of the results written to files."""

from __future__ import annotations

import re
from pathlib import Path

from .core.errors import BadInput

SUFFIXES = {"image/png": ".png", "video/mp4": ".mp4"}


def render_paths(target: Path, raw_inputs: list, suffix: str) -> list[Path]:
    """Where each item's picture goes: ``target`` itself for one item given as a file name with a suffix,
    else one file per item in the folder ``target``, named by position and the input's file name.

    >>> [str(p) for p in render_paths(Path("out.png"), ["cat.jpg"], ".png")]
    ['out.png']
    >>> [str(p) for p in render_paths(Path("shots"), ["a/cat.jpg", {"image": "dog.png"}], ".png")]
    ['shots/001-cat.png', 'shots/002-dog.png']
    """
    if len(raw_inputs) == 1 and target.suffix and not target.is_dir():
        return [target]
    paths = []
    for i, value in enumerate(raw_inputs, 1):
        source = next((v for v in value.values() if isinstance(v, str)), "") if isinstance(value, dict) else value
        stem = Path(source).stem if isinstance(source, str) and len(source) < 512 else ""
        stem = re.sub(r"[^\w.-]+", "_", stem)[:60] or "item"
        paths.append(target / f"{i:03d}-{stem}{suffix}")
    return paths


def write_renders(pipe, items: list, outputs: list, raw_inputs: list, target: Path) -> list[Path]:
    """Draw every output on its item (the task's ``render``) and write the files; returns their paths."""
    suffix = SUFFIXES.get(pipe.task_cls.render_media_type, ".bin")
    paths = render_paths(target, raw_inputs, suffix)
    for path, item, output in zip(paths, items, outputs):
        data = pipe.render(item, output)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            raise BadInput(f"--render: cannot write {str(path)!r} ({exc.strerror or exc})",
                           hint="give a writable .png file name for one input, or a folder") from None
    return paths
