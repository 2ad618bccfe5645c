"""API keys for the server: created once, stored hashed in SQLite, verified per request.

A key looks like ``mb_<id>_<secret>``: ``<id>`` (12 hex characters) is public and
indexes the row, so verifying a key is one primary-key lookup, never a scan;
``<secret>`` is 32 random bytes. Only a salted hash of the whole key is stored,
so the database (or a backup of it) does not hand out working keys.

Each key has scopes, fixed at creation: ``run`` (tasks, models, OpenAI routes),
``train`` (``/v1/jobs*``), ``metrics`` (``/metrics``) and ``admin`` (all of them).

>>> store = KeyStore(":memory:")
>>> key_id, secret = store.create("ci", scopes=["run", "train"])
>>> store.verify(secret) == key_id
True
>>> grant = store.authenticate(secret)
>>> grant.allows("train"), grant.allows("metrics")
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from ..core.errors import ModelbayError
from .key_scopes import DEFAULT_SCOPES, VerifiedKey, add_scopes_column, normalize_scopes

PREFIX = "mb_"
_ID_HEX = 12
_KEY_RE = re.compile(rf"^{PREFIX}([0-9a-f]{{{_ID_HEX}}})_([A-Za-z0-9_-]{{20,200}})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    salt       BLOB NOT NULL,
    hash       BLOB NOT NULL,
    created    REAL NOT NULL,
    last_used  REAL,
    requests   INTEGER NOT NULL DEFAULT 0,
    revoked    REAL,
    scopes     TEXT NOT NULL DEFAULT 'run'
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_active_name ON api_keys(name) WHERE revoked IS NULL;
"""


class KeyStoreError(ModelbayError):
    status_code = 400
    code = "bad_key_request"


class UnknownKey(KeyStoreError, LookupError):
    status_code = 404
    code = "unknown_key"


class KeyNameTaken(KeyStoreError):
    status_code = 409
    code = "key_name_taken"


@dataclass(frozen=True)
class KeyInfo:
    """One key as `modelbay keys list` shows it: never the secret, nor its hash."""

    id: str
    name: str
    created: str
    last_used: str | None
    requests: int
    revoked: str | None
    scopes: tuple[str, ...] = DEFAULT_SCOPES

    def to_dict(self) -> dict:
        return asdict(self)


def default_keys_db() -> Path:
    from ..core.settings import get_settings

    return get_settings().home / "keys.db"


def _hash(salt: bytes, key: str) -> bytes:
    # The key carries 256 bits of randomness, so guessing it is hopeless however fast the hash is;
    # a slow KDF (scrypt, bcrypt) only protects low-entropy passwords and would add ~50 ms to every
    # request. A per-key salt with HMAC-SHA256 keeps equal keys from sharing a hash and is microseconds.
    return hmac.new(salt, key.encode("utf-8"), hashlib.sha256).digest()


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


class KeyStore:
    """Hashed API keys in one SQLite file (WAL), safe to share between threads.

    Usage counts are kept in memory and written in batches (every ``flush_interval_s``,
    on :meth:`list` and on :meth:`close`), so a request never waits on a disk write.
    """

    def __init__(self, path: str | Path | None = None, *, flush_interval_s: float = 5.0) -> None:
        self.path = Path(path) if path is not None else default_keys_db()
        self.flush_interval_s = flush_interval_s
        # Two connections: verify() reads on its own, so a request never queues behind a write
        # (a usage flush, or a CLI holding the file's write lock); WAL lets readers run beside a writer.
        self._read_lock, self._write_lock, self._pending_lock = threading.Lock(), threading.Lock(), threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._pending: dict[str, tuple[int, float]] = {}  # key id -> (requests, last used)
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    # -- connections --------------------------------------------------------
    @property
    def _memory(self) -> bool:
        return str(self.path) == ":memory:"

    def _open(self, create: bool) -> sqlite3.Connection | None:
        if not self._memory and not self.path.exists():
            if not create:
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))  # owner-only from the start
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=5.0, isolation_level=None)
        if not self._memory:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit does not fsync
        conn.executescript(_SCHEMA)
        add_scopes_column(conn)
        return conn

    def _write_db(self) -> sqlite3.Connection:
        """The writing connection (hold ``_write_lock``); creates the file on first use."""
        if self._writer is None:
            self._writer = self._open(create=True)
        return self._writer

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """The reading connection, or None while there is no key file (reading never creates one)."""
        if self._memory:  # one in-memory database, one connection: reads take the write lock
            with self._write_lock:
                yield self._write_db()
            return
        with self._read_lock:
            if self._reader is None:
                self._reader = self._open(create=False)
            yield self._reader

    def close(self) -> None:
        """Write pending usage counts and close the file; the store reopens it if used again."""
        self._stop.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join(timeout=self.flush_interval_s + 1)
        self._flusher = None
        self.flush()
        with self._read_lock, self._write_lock:
            for conn in {id(c): c for c in (self._reader, self._writer) if c is not None}.values():
                conn.close()
            self._reader = self._writer = None
        self._stop.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- keys ---------------------------------------------------------------
    def create(self, name: str, scopes: Iterable[str] = DEFAULT_SCOPES) -> tuple[str, str]:
        """Make a key named ``name`` with ``scopes``; returns ``(key_id, secret)``. The secret is not stored: show it once."""
        granted = " ".join(normalize_scopes(scopes))
        if not _NAME_RE.match(name or ""):
            raise KeyStoreError(f"key name {name!r} is not allowed",
                            hint="use 1-64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit")
        key_id = secrets.token_hex(_ID_HEX // 2)
        secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        salt = secrets.token_bytes(16)
        with self._write_lock:
            db = self._write_db()
            try:
                db.execute("INSERT INTO api_keys (id, name, salt, hash, created, scopes) VALUES (?, ?, ?, ?, ?, ?)",
                           (key_id, name, salt, _hash(salt, secret), time.time(), granted))
            except sqlite3.IntegrityError:
                (other,) = db.execute("SELECT id FROM api_keys WHERE name = ? AND revoked IS NULL", (name,)).fetchone()
                raise KeyNameTaken(f"an active key named {name!r} already exists (id {other})",
                                   hint=f"pick another name, or `modelbay keys revoke {name}` first") from None
        return key_id, secret

    def verify(self, secret: str | None) -> str | None:
        """The key id if ``secret`` is a valid, unrevoked key; else None. Never raises on bad input."""
        grant = self.authenticate(secret)
        return grant.id if grant else None

    def authenticate(self, secret: str | None) -> VerifiedKey | None:
        """The key's id and scopes if ``secret`` is a valid, unrevoked key; else None. One primary-key read."""
        match = _KEY_RE.match(secret or "")
        if match is None:
            return None
        key_id = match.group(1)
        with self._reading() as db:  # an open server with no key file answers None without creating one
            row = db and db.execute("SELECT salt, hash, revoked, scopes FROM api_keys WHERE id = ?",
                                    (key_id,)).fetchone()
        if not row:
            return None
        salt, stored, revoked, scopes = row
        valid = hmac.compare_digest(_hash(salt, secret), stored)
        return VerifiedKey(key_id, frozenset(scopes.split())) if valid and revoked is None else None

    def revoke(self, id_or_name: str) -> KeyInfo:
        """Revoke a key by id or (active) name; revoking a revoked key changes nothing. Returns the key."""
        with self._write_lock:
            db = self._write_db()
            row = db.execute("SELECT id FROM api_keys WHERE id = ?", (id_or_name,)).fetchone()
            if row is None:
                row = db.execute("SELECT id FROM api_keys WHERE name = ? ORDER BY revoked IS NULL DESC, created DESC",
                                 (id_or_name,)).fetchone()
            if row is None:
                names = [r[0] for r in db.execute("SELECT name FROM api_keys WHERE revoked IS NULL ORDER BY name")]
                raise UnknownKey(f"no API key with id or name {id_or_name!r} in {self.path}",
                                 hint=f"active keys: {', '.join(names)}" if names else "there are no active keys; "
                                 "`modelbay keys list` shows all")
            db.execute("UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked IS NULL", (time.time(), row[0]))
        return next(k for k in self.list() if k.id == row[0])

    def list(self) -> list[KeyInfo]:
        """Every key, oldest first, with usage counts up to now (pending counts are written first)."""
        self.flush()
        with self._reading() as db:
            rows = db.execute("SELECT id, name, created, last_used, requests, revoked, scopes FROM api_keys "
                              "ORDER BY created, id").fetchall() if db else []
        return [KeyInfo(r[0], r[1], _iso(r[2]), _iso(r[3]), r[4], _iso(r[5]), tuple(r[6].split())) for r in rows]

    def active_count(self) -> int:
        with self._reading() as db:
            return db.execute("SELECT COUNT(*) FROM api_keys WHERE revoked IS NULL").fetchone()[0] if db else 0

    # -- usage --------------------------------------------------------------
    def record_use(self, key_id: str) -> None:
        """Count one request for ``key_id``: a dict update now, a database write within ``flush_interval_s``."""
        now = time.time()
        with self._pending_lock:
            count, _ = self._pending.get(key_id, (0, now))
            self._pending[key_id] = (count + 1, now)
            if self._flusher is None and self.flush_interval_s > 0:
                self._flusher = threading.Thread(target=self._flush_loop, name="modelbay-keys-flush", daemon=True)
                self._flusher.start()

    def flush(self) -> None:
        """Write pending usage counts in one transaction; on a write error they stay pending."""
        with self._write_lock:
            with self._pending_lock:  # swap, so record_use() never waits for the write below
                pending, self._pending = self._pending, {}
            if not pending:
                return
            try:
                db = self._write_db()
                db.execute("BEGIN IMMEDIATE")
                db.executemany("UPDATE api_keys SET requests = requests + ?, "
                               "last_used = MAX(COALESCE(last_used, 0), ?) WHERE id = ?",
                               [(n, t, k) for k, (n, t) in pending.items()])
                db.execute("COMMIT")
            except sqlite3.Error:
                if self._writer is not None and self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                with self._pending_lock:
                    for key_id, (n, t) in pending.items():
                        m, u = self._pending.get(key_id, (0, t))
                        self._pending[key_id] = (n + m, max(t, u))
                raise

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                self.flush()
            except sqlite3.Error:  # e.g. locked by a CLI for >5 s: the counts stay pending for the next round
                pass

