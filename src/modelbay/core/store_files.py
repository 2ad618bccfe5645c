"""The artifact store's files: readers of its index, staging-directory locks, fsync, model cards.

``core/store.py`` is the store itself; this is what it does to files.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STAGING_PREFIX = ".staging-"
# one open connection per index this process reads: connecting costs ~0.4 ms, a query ~0.02 ms, and the
# server looks up the promoted version of a bare trained name on every request naming one
_readers: dict[tuple[int, str], tuple[int, sqlite3.Connection]] = {}  # (pid, index) -> (inode, connection)
_readers_guard = threading.RLock()
_MAX_READERS = 8


@contextmanager
def index_reader(index: Path, connect: Callable[[], sqlite3.Connection]) -> Iterator[sqlite3.Connection]:
    """This process's reader of ``index`` (each statement sees every commit before it); one user at a time."""
    key = (os.getpid(), str(index.absolute()))  # a forked child must not use its parent's connection
    with _readers_guard:
        inode, conn = _readers.get(key, (None, None))
        if conn is None or not index.exists() or index.stat().st_ino != inode:  # none yet, or the file replaced
            if conn is not None:
                conn.close()
            conn = connect()
            _readers[key] = (index.stat().st_ino, conn)
            while len(_readers) > _MAX_READERS:
                _readers.pop(next(iter(_readers)))[1].close()
        yield conn


def lock_dir(path: Path) -> int:
    """Lock a directory (``flock``, exclusive) and return the descriptor; closing it, or dying, releases the lock.

    The lock belongs to the directory's inode, so it moves with a rename into place.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def is_locked(path: Path) -> bool:
    """Whether a live process holds :func:`lock_dir` on ``path`` (a missing directory is not locked)."""
    try:
        fd = lock_dir(path)
    except BlockingIOError:
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    os.close(fd)
    return False


def remove_unlocked(paths: Iterable[Path]) -> list[Path]:
    """Remove each directory no live process holds :func:`lock_dir` on; return those removed."""
    removed = []
    for path in paths:
        if not is_locked(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:  # not empty, or gone already
        pass


def fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    fsync_dir(root)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_card(directory: Path) -> dict[str, Any]:
    card_path = directory / "model_card.json"
    return json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}


def write_stamped_card(directory: Path, name: str, task: str) -> dict[str, Any]:
    """Add what every model card carries, whichever trainer wrote it (name, task, when, which modelbay); return it."""
    from datetime import UTC, datetime

    from .version import __version__

    card = read_card(directory)
    card.setdefault("name", name)
    card.setdefault("task", task)
    card.setdefault("modelbay_version", __version__)
    card.setdefault("created", datetime.now(UTC).isoformat(timespec="seconds"))
    text = json.dumps(card, indent=2, ensure_ascii=False) + "\n"
    (directory / "model_card.json").write_text(text, encoding="utf-8")
    return card
