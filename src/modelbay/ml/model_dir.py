"""Writing a trained model's directory atomically, the one way every trainer does it.

>>> with atomic_model_dir("/tmp/my-model") as tmp:       # doctest: +SKIP
...     (tmp / "weights.bin").write_bytes(b"...")           # or a library's save(tmp / ...), to_disk(tmp / ...)
...     write_json(tmp, "config.json", {"format": "my-format/1"})
...     write_card(tmp, {"task": "text-classification", "created": utc_timestamp()})

A trainer may write (and read back, e.g. to score the saved model) inside the ``with`` block;
sub-folders are fine. Nothing is visible at ``out_dir`` until the block ends without an error.

Files go into a temp directory beside ``out_dir``; on success every file is fsynced and the
directory is renamed into place (a previous ``out_dir`` is moved aside first and removed
after). On any error, including Ctrl-C, the temp directory is removed and ``out_dir`` is
untouched, so a half-written model never looks valid.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_model_dir", "save_head_layers", "utc_timestamp", "write_card", "write_json"]


@contextmanager
def atomic_model_dir(out_dir: str | Path) -> Iterator[Path]:
    """A temp directory beside ``out_dir`` to write into; renamed to ``out_dir`` when the block succeeds."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; a model directory is meant to be readable
        yield tmp
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}-old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_card(directory: Path, card: dict[str, Any]) -> None:
    """``model_card.json``: UTF-8, indented, non-JSON values (paths, dates) as strings."""
    text = json.dumps(card, indent=2, ensure_ascii=False, default=str) + "\n"
    (Path(directory) / "model_card.json").write_text(text, encoding="utf-8")


def write_json(directory: Path, filename: str, data: dict[str, Any], *, indent: int = 2) -> Path:
    """A model's config file (``head.json``, ``tabular.json``…): UTF-8 JSON, a newline at the end."""
    path = Path(directory) / filename
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def utc_timestamp() -> str:
    """The model card's ``created``: UTC, to the second, e.g. ``2025-01-31T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def save_head_layers(directory: Path, layers) -> None:
    """An MLP's ``(W, b)`` pairs as ``head.npz`` (``W0, b0, W1, b1, …``, float32)."""
    import numpy as np

    arrays = {}
    for i, (w, b) in enumerate(layers):
        arrays[f"W{i}"], arrays[f"b{i}"] = w.astype(np.float32), b.astype(np.float32)
    np.savez_compressed(Path(directory) / "head.npz", **arrays)
