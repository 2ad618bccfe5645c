"""One open :class:`KnowledgeBase` per name per process, for the server and the assistant.

Opening a knowledge base is cheap, but its search index (BM25 matrix, vectors) is built in memory
on the first search; keeping the object keeps the index, which is rebuilt only when the file's
generation changes (a document added or removed, by any process). A knowledge base deleted since
it was opened is dropped from the cache and reported missing.
"""

from __future__ import annotations

import threading

from . import library
from .base import KnowledgeBase

_open: dict[str, KnowledgeBase] = {}
_lock = threading.Lock()


def shared_knowledge_base(name: str) -> KnowledgeBase:
    """The process's open knowledge base ``name``; ``BadInput`` naming the existing ones if there is none."""
    folder = library.kb_root() / library.check_name(name)
    with _lock:
        kb = _open.get(name)
        # the same folder: MODELBAY_HOME may change within a process (tests, a library user switching homes)
        if kb is not None and kb.folder == folder and (folder / library.DB_FILE).is_file():
            return kb
        _open.pop(name, None)
        kb = _open[name] = KnowledgeBase.open(name)
        return kb


def forget(name: str) -> None:
    """Drop ``name`` from the cache (after deleting or re-creating it)."""
    with _lock:
        _open.pop(name, None)
