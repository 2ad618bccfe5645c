"""The artifact store: trained models as ``<home>/artifacts/<name>/<version>/`` plus a SQLite index.

A version is reserved before anything is written: one ``BEGIN IMMEDIATE`` transaction picks
the next number, creates ``<root>/.staging-<name>-<version>-<random>/``, locks it (``flock``)
and records the reservation, so no two trainers of a name get one number. The trainer
writes into ``model/`` inside it; publishing is fsync → (one transaction) rename ``model/``
to ``<name>/<version>`` and commit the index row. So only complete versions are listed, each
with the files of the trainer that reserved it. A failed or cancelled write removes its
staging directory and reservation; a killed trainer's are removed by the next store to
start (``remove_orphans``), which skips every staging directory whose lock is still held.
``promote`` sets the version a bare name resolves to; the first version published is promoted.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import store_files
from .errors import ModelbayError, ModelNotFound
from .refs import check_name, parse_ref
from .settings import get_settings
from .store_files import STAGING_PREFIX, is_locked, remove_if_empty

__all__ = ["Artifact", "ArtifactStore", "StagedVersion", "VersionNotFound", "check_name", "parse_ref"]

log = logging.getLogger("modelbay.store")

# a store from before ``reservations`` existed opens unchanged: the table is added
_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL, version INTEGER NOT NULL, task TEXT NOT NULL, created REAL NOT NULL,
    card TEXT NOT NULL, PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS promoted (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
    name TEXT NOT NULL, version INTEGER NOT NULL, staging TEXT NOT NULL, pid INTEGER NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (name, version));
"""

_swept_roots: set[str] = set()  # roots this process has cleaned of orphans already
_swept_guard = threading.Lock()


class VersionNotFound(ModelNotFound):
    """The name has trained versions, but not the one asked for."""


class VersionTaken(ModelbayError):
    """A reserved version was published by someone else: only a writer that ignores reservations can do that."""

    status_code = 409
    code = "conflict"


@dataclass(frozen=True)
class Artifact:
    name: str
    version: int
    task: str
    created: float
    card: dict[str, Any]
    path: Path
    promoted: bool

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class StagedVersion:
    """A reserved version being written: fill ``path``; when the ``with`` block ends it is published as ``ref``."""

    name: str
    version: int
    path: Path  # the model directory to write, inside staging_dir
    staging_dir: Path  # locked while its writer lives; everything a killed writer leaves is in here

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class ArtifactStore:
    """Trained models of one root; the first store of a root in each process removes orphans left by killed trainers."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else get_settings().home / "artifacts"
        self._remove_orphans_once()

    def _connect(self) -> sqlite3.Connection:
        self.root.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.root / "index.db", timeout=30, isolation_level=None,  # transactions are explicit
                               check_same_thread=False)
        try:
            conn.executescript(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    def _reading(self) -> AbstractContextManager[sqlite3.Connection]:
        return store_files.index_reader(self.root / "index.db", self._connect)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, its lock taken at the start: concurrent writers queue here, never interleave."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already (a full disk, say)
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def new_version(self, name: str, task: str) -> Iterator[StagedVersion]:
        """Reserve the next version of ``name`` and yield it to write into; on success it is published.

        >>> with store.new_version("intent", "text-classification") as staged:  # doctest: +SKIP
        ...     write_model(staged.path)
        >>> store.get(staged.ref).ref                                            # doctest: +SKIP
        'intent@1'
        """
        check_name(name)
        self.remove_orphans()
        staged, lock_fd = self._reserve(name)
        try:
            yield staged
            card = store_files.write_stamped_card(staged.path, name, task)
            store_files.fsync_tree(staged.path)
            self._publish(staged, task, card)
        except BaseException:
            self._release(staged)
            raise
        finally:
            os.close(lock_fd)  # after publishing or releasing: until then no sweeper may take the directory

    def _reserve(self, name: str) -> tuple[StagedVersion, int]:
        with self._writing() as conn:
            (highest,) = conn.execute(
                "SELECT MAX(v) FROM (SELECT version AS v FROM versions WHERE name = ?"
                " UNION ALL SELECT version FROM reservations WHERE name = ?)", (name, name)).fetchone()
            version = (highest or 0) + 1
            staging_dir = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{name}-{version}-", dir=self.root))
            lock_fd = None
            try:
                lock_fd = store_files.lock_dir(staging_dir)
                (staging_dir / "model").mkdir(mode=0o755)  # a published version is readable like any model directory
                conn.execute("INSERT INTO reservations VALUES (?, ?, ?, ?, ?)",
                             (name, version, staging_dir.name, os.getpid(), time.time()))
            except BaseException:
                if lock_fd is not None:
                    os.close(lock_fd)
                shutil.rmtree(staging_dir, ignore_errors=True)
                raise
        return StagedVersion(name, version, staging_dir / "model", staging_dir), lock_fd

    def _publish(self, staged: StagedVersion, task: str, card: dict[str, Any]) -> None:
        final = self.root / staged.name / str(staged.version)
        with self._writing() as conn:
            if conn.execute("SELECT 1 FROM versions WHERE name = ? AND version = ?",
                            (staged.name, staged.version)).fetchone():
                raise VersionTaken(f"{staged.ref} was published meanwhile by a modelbay that does not reserve versions",
                                   hint="train again; run one modelbay version against a store at a time")
            final.parent.mkdir(exist_ok=True)
            if final.exists():  # left by a crash between rename and commit: not in the index, so not a version
                shutil.rmtree(final)
            os.replace(staged.path, final)
            store_files.fsync_dir(final.parent)
            conn.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?)",
                         (staged.name, staged.version, task, time.time(), json.dumps(card)))
            conn.execute("DELETE FROM reservations WHERE name = ? AND version = ?", (staged.name, staged.version))
            conn.execute("INSERT OR IGNORE INTO promoted VALUES (?, ?)", (staged.name, staged.version))
        shutil.rmtree(staged.staging_dir, ignore_errors=True)  # empty now

    def _release(self, staged: StagedVersion) -> None:
        """Undo a reservation that will not be published; if that fails, the next sweep does it."""
        try:
            with self._writing() as conn:
                self._drop_reservation(conn, staged.name, staged.version, staged.staging_dir.name)
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not remove the staging directory of %s (%s); the next store will", staged.ref, exc)

    def _drop_reservation(self, conn: sqlite3.Connection, name: str, version: int, staging: str) -> None:
        shutil.rmtree(self.root / staging, ignore_errors=True)
        final = self.root / name / str(version)
        indexed = conn.execute("SELECT 1 FROM versions WHERE name = ? AND version = ?", (name, version)).fetchone()
        if not indexed and final.exists():  # renamed, then the commit failed
            shutil.rmtree(final, ignore_errors=True)
        conn.execute("DELETE FROM reservations WHERE name = ? AND version = ?", (name, version))
        remove_if_empty(self.root / name)

    def remove_orphans(self) -> list[Path]:
        """Remove what killed trainers left: unlocked staging directories, their reservations, empty name folders.

        A live trainer holds the lock on its staging directory from the transaction that created
        it until its version is published or released, and this runs in a write transaction too,
        so nothing a live trainer needs is ever removed. Returns the staging directories removed.
        """
        if not self.root.is_dir():
            return []
        removed: list[Path] = []
        with self._writing() as conn:
            reserved = conn.execute("SELECT name, version, staging FROM reservations").fetchall()
            for name, version, staging in reserved:
                if not is_locked(self.root / staging):
                    self._drop_reservation(conn, name, version, staging)
                    removed.append(self.root / staging)
            live = {staging for _, _, staging in reserved}
            unreserved = [p for p in self.root.glob(f"{STAGING_PREFIX}*") if p.name not in live]
            removed += store_files.remove_unlocked(unreserved)
            for folder in [p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")]:
                # where stores before reservations staged (and trainers' temp directories beside that)
                old_layout = [*folder.glob(f"{STAGING_PREFIX}*"), *folder.glob(f".{STAGING_PREFIX}*")]
                removed += store_files.remove_unlocked(old_layout)
                remove_if_empty(folder)
        return removed

    def _remove_orphans_once(self) -> None:
        key = str(self.root.absolute())
        with _swept_guard:
            if key in _swept_roots:
                return
            _swept_roots.add(key)
        try:
            removed = self.remove_orphans()
        except (OSError, sqlite3.Error) as exc:  # a read-only store still lists and loads
            log.warning("could not clean %s of unfinished versions: %s", self.root, exc)
            return
        if removed:
            log.info("removed %d unfinished version(s) left in %s", len(removed), self.root)

    def list(self, name: str | None = None) -> list[Artifact]:
        with self._reading() as conn:
            promoted = dict(conn.execute("SELECT name, version FROM promoted").fetchall())
            rows = conn.execute(
                "SELECT name, version, task, created, card FROM versions"
                + (" WHERE name = ?" if name else "") + " ORDER BY name, version", (name,) if name else ()
            ).fetchall()
        return [Artifact(n, v, t, c, json.loads(card), self.root / n / str(v), promoted.get(n) == v)
                for n, v, t, c, card in rows]

    def promoted_version(self, name: str) -> int:
        """The version a bare ``name`` stands for; one indexed query (the server asks on each request naming one)."""
        with self._reading() as conn:
            # fetchall: a statement stepped to its end frees the read lock of this long-lived connection
            rows = conn.execute("SELECT version FROM promoted WHERE name = ?", (name,)).fetchall()
        if not rows:
            raise self._unknown_name(name)
        return rows[0][0]

    def get(self, ref: str) -> Artifact:
        """``name`` (the promoted version) or ``name@version``; see :func:`parse_ref`."""
        name, version = parse_ref(ref)
        promoted = self.promoted_version(name)  # ModelNotFound when the name has no versions at all
        version = promoted if version is None else version
        with self._reading() as conn:
            rows = conn.execute("SELECT task, created, card FROM versions WHERE name = ? AND version = ?",
                                (name, version)).fetchall()
            versions = [] if rows else conn.execute(
                "SELECT version FROM versions WHERE name = ? ORDER BY version", (name,)).fetchall()
        if not rows:
            listed = ", ".join(str(v) for (v,) in versions)
            raise VersionNotFound(f"{name!r} has no version {version}; versions: {listed}",
                                  hint="`modelbay models list --trained`")
        task, created, card = rows[0]
        return Artifact(name, version, task, created, json.loads(card), self.root / name / str(version),
                        promoted == version)

    def _unknown_name(self, name: str) -> ModelNotFound:
        with self._reading() as conn:  # names only: clients can send any name, cards need not be parsed for it
            known = [n for (n,) in conn.execute("SELECT DISTINCT name FROM versions ORDER BY name").fetchall()]
        return ModelNotFound(f"no trained model named {name!r}; trained: {', '.join(known) or 'none'}",
                             hint="`modelbay models list --trained`")

    def promote(self, ref: str) -> Artifact:
        artifact = self.get(ref)
        with self._writing() as conn:
            conn.execute("INSERT OR REPLACE INTO promoted VALUES (?, ?)", (artifact.name, artifact.version))
        return self.get(artifact.name)

