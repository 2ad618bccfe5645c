"""The SQLite file of one knowledge base: settings, documents and chunks (with their BM25 terms and vectors).

WAL mode, so searches read while a document is being written; one ``BEGIN IMMEDIATE``
transaction per document, so a reader sees a document whole or not at all and a crash leaves
nothing half-written. ``generation`` goes up with every change, so the in-memory search index
knows when to reload (also when another process changed the file). Vectors are float32 blobs in
the chunk rows: exact search over a numpy matrix was measured faster to build and as fast to query
as sqlite-vec, hnswlib and faiss up to 100k chunks (``bench/kb_vector_index.py``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
  id INTEGER PRIMARY KEY, source TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL, chunk_count INTEGER NOT NULL, added_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
  id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  position INTEGER NOT NULL, section TEXT, page INTEGER, text TEXT NOT NULL, terms TEXT NOT NULL, vector BLOB);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id, position);
"""
DOCUMENT_COLUMNS = "id, source, kind, sha256, size_bytes, chunk_count, added_at"


class KBStore:
    """One connection per thread to ``path``; writes are serialised by SQLite's lock (and a busy wait)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def write(self, *, new_generation: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction, rolled back whole on any error; it bumps ``generation`` (every open search
        index is rebuilt) unless ``new_generation=False``, for a change that leaves the chunks as they are."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            if new_generation:
                conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def initialise(self, settings: dict) -> None:
        with self.write() as conn:
            for statement in _SCHEMA.split(";"):  # executescript would commit the open transaction
                if statement.strip():
                    conn.execute(statement)
            rows = {"schema_version": SCHEMA_VERSION, "generation": 0, "created_at": time.time(), **settings}
            conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                             [(k, json.dumps(v)) for k, v in rows.items()])

    def update_settings(self, changes: dict) -> None:
        """Change settings in place: they are read at each use, and the chunks, hence the index, stay as they were."""
        with self.write(new_generation=False) as conn:
            conn.executemany("UPDATE meta SET value = ? WHERE key = ?", [(json.dumps(v), k) for k, v in changes.items()])

    def settings(self) -> dict:
        rows = self.connection().execute("SELECT key, value FROM meta").fetchall()
        return {k: json.loads(v) for k, v in rows}

    def generation(self) -> int:
        row = self.connection().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def document_by_source(self, source: str) -> tuple | None:
        return self.connection().execute(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE source = ?", (source,)).fetchone()

    def document_by_id(self, document_id: int) -> tuple | None:
        return self.connection().execute(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?", (document_id,)).fetchone()

    def documents(self) -> list[tuple]:
        return self.connection().execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY id").fetchall()

    def chunks_of(self, document_id: int) -> list[tuple]:
        return self.connection().execute(
            "SELECT id, position, section, page, text FROM chunks WHERE document_id = ? ORDER BY position",
            (document_id,)).fetchall()

    def put_document(self, conn: sqlite3.Connection, doc: dict, chunks: list[tuple]) -> int:
        """Insert or replace a document and all its chunks, inside the caller's transaction.

        ``chunks`` rows are ``(position, section, page, text, terms, vector_bytes)``.
        """
        conn.execute("DELETE FROM documents WHERE source = ?", (doc["source"],))  # cascades to its chunks
        cur = conn.execute(
            "INSERT INTO documents(source, kind, sha256, size_bytes, chunk_count, added_at) VALUES (?, ?, ?, ?, ?, ?)",
            (doc["source"], doc["kind"], doc["sha256"], doc["size_bytes"], len(chunks), time.time()))
        document_id = int(cur.lastrowid)
        conn.executemany(
            "INSERT INTO chunks(document_id, position, section, page, text, terms, vector) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(document_id, *row) for row in chunks])
        return document_id

    def delete_document(self, document_id: int) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))

    def snapshot(self) -> tuple[int, list[tuple]]:
        """``(generation, rows)`` read in one transaction: every chunk with its document's source."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            generation = self.generation()
            rows = conn.execute(
                "SELECT c.id, c.document_id, d.source, c.position, c.section, c.page, c.text, c.terms, c.vector "
                "FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id").fetchall()
        finally:
            conn.execute("COMMIT")
        return generation, rows

    def counts(self) -> tuple[int, int]:
        conn = self.connection()
        return (conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
