"""Galleries of enrolled faces for 1:N search, kept in one SQLite file under ``MODELBAY_HOME``.

``<MODELBAY_HOME>/faces/galleries.db`` (``core.state_db``: WAL, explicit transactions, a busy
timeout): one row per enrolled face — gallery, identity, the embedding space it was computed in, the
128 float32 numbers as a blob, and when. An identity may have several faces (photos); a search scores
each identity by its closest face. Only embeddings are kept, never the photos.

>>> g = Gallery(Path("/tmp/faces.db"))                                # doctest: +SKIP
>>> g.enroll("staff", "ada", [0.1] * 128, "dlib-resnet-v1")           # doctest: +SKIP
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...core.errors import BadInput
from ...core.state_db import connect_state_db, state_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    gallery TEXT NOT NULL,
    identity TEXT NOT NULL,
    space TEXT NOT NULL,
    embedding BLOB NOT NULL,
    created_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS faces_by_gallery ON faces (gallery, identity);
"""
NAME_PATTERN = re.compile(r"^[\w.@+-][\w .@+-]{0,127}$")
#: a gallery larger than this is refused at enrolment: search is brute force over every face
MAX_FACES_PER_GALLERY = 200_000
DIM = 128


def gallery_file() -> Path:
    return state_file("faces", "galleries.db")


def check_name(value: str, field: str) -> str:
    """Names of galleries and identities: 1-128 letters, digits, spaces and ``_.@+-``."""
    if not isinstance(value, str) or not NAME_PATTERN.match(value) or value != value.strip():
        raise BadInput(f"{field}: {value!r} is not a valid name; use 1-128 letters, digits, spaces or _.@+- "
                       "(not starting with a space)")
    return value


class Gallery:
    """Enrolled faces; every method opens its own short transaction (safe across processes)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else gallery_file()
        self._ready = False

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own for each call: sqlite3 connections may not cross the server's threads."""
        if not self._ready:
            connect_state_db(self.path, SCHEMA).close()
            self._ready = True
        conn = connect_state_db(self.path)
        try:
            yield conn
        finally:
            conn.close()

    def enroll(self, gallery: str, identity: str, embedding: list[float], space: str) -> int:
        """Add one face of ``identity``; returns how many faces the identity has now."""
        import numpy as np

        vector = np.asarray(embedding, dtype=np.float32)
        if vector.shape != (DIM,):
            raise BadInput(f"embedding: expected {DIM} numbers, got shape {vector.shape}")
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                self._check_space(db, gallery, space)
                total = db.execute("SELECT COUNT(*) FROM faces WHERE gallery = ?", (gallery,)).fetchone()[0]
                if total >= MAX_FACES_PER_GALLERY:
                    raise BadInput(f"gallery {gallery!r} has {total} faces, the most one gallery holds",
                                   hint="remove identities or use another gallery")
                db.execute("INSERT INTO faces (gallery, identity, space, embedding, created_s) VALUES (?, ?, ?, ?, ?)",
                           (gallery, identity, space, vector.tobytes(), time.time()))
                count = db.execute("SELECT COUNT(*) FROM faces WHERE gallery = ? AND identity = ?",
                                   (gallery, identity)).fetchone()[0]
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return int(count)

    def remove(self, gallery: str, identity: str) -> int:
        """Forget every face of ``identity`` in ``gallery``; returns how many were removed."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            removed = db.execute("DELETE FROM faces WHERE gallery = ? AND identity = ?", (gallery, identity)).rowcount
            db.execute("COMMIT")
        return int(removed)

    def search(self, gallery: str, embedding: list[float], space: str, top_k: int) -> tuple[list[tuple[str, float]], int]:
        """``([(identity, distance)], faces in the gallery)``: the ``top_k`` identities nearest first."""
        import numpy as np

        with self._db() as db:
            rows = db.execute("SELECT identity, space, embedding FROM faces WHERE gallery = ? ORDER BY id",
                              (gallery,)).fetchall()
        if not rows:
            return [], 0
        spaces = {r[1] for r in rows}
        if spaces != {space}:
            raise BadInput(f"gallery {gallery!r} holds embeddings of {sorted(spaces)}, not {space!r}",
                           hint="search it with the model it was enrolled with")
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), DIM)
        distances = np.linalg.norm(matrix - np.asarray(embedding, dtype=np.float32), axis=1)
        best: dict[str, float] = {}
        for (identity, _, _), d in zip(rows, distances.tolist()):
            best[identity] = min(d, best.get(identity, float("inf")))
        ranked = sorted(best.items(), key=lambda kv: (kv[1], kv[0]))[:top_k]
        return [(name, round(d, 6)) for name, d in ranked], len(rows)

    def identities(self, gallery: str) -> dict[str, int]:
        """Each enrolled identity of ``gallery`` with its number of faces."""
        with self._db() as db:
            rows = db.execute("SELECT identity, COUNT(*) FROM faces WHERE gallery = ? GROUP BY identity ORDER BY identity",
                              (gallery,)).fetchall()
        return {name: int(n) for name, n in rows}

    @staticmethod
    def _check_space(db, gallery: str, space: str) -> None:
        row = db.execute("SELECT space FROM faces WHERE gallery = ? LIMIT 1", (gallery,)).fetchone()
        if row and row[0] != space:
            raise BadInput(f"gallery {gallery!r} holds embeddings of {row[0]!r}, not {space!r}",
                           hint="enrol into another gallery, or with the model the gallery was made with")
