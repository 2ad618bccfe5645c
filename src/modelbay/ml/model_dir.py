"""Writing a trained model's directory atomically, the one way every trainer does it.

>>> with atomic_model_dir("/tmp/my-model") as tmp:       # doctest: +SKIP
...     (tmp / "weights.bin").write_bytes(b"...")
...     write_card(tmp, {"task": "text-classification"})

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_model_dir(out_dir: str | Path) -> Iterator[Path]:
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


def save_head_layers(directory: Path, layers) -> None:
    """An MLP's ``(W, b)`` pairs as ``head.npz`` (``W0, b0, W1, b1, …``, float32)."""
    import numpy as np

    arrays = {}
    for i, (w, b) in enumerate(layers):
        arrays[f"W{i}"], arrays[f"b{i}"] = w.astype(np.float32), b.astype(np.float32)
    np.savez_compressed(Path(directory) / "head.npz", **arrays)
