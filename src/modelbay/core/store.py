"""The artifact store: trained models as ``<home>/artifacts/<name>/<version>/`` plus a SQLite index.

A version becomes visible only when its directory is complete: the trainer writes
into a staging directory, the files are fsynced, the directory is renamed into
place and only then is the index row committed. An interrupted training run or a
full disk leaves at most a staging directory (ignored, cleaned up later), never a
version that looks valid. ``promote`` sets the version a bare name resolves to;
the first version of a name is promoted automatically.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BadInput, ModelNotFound
from .settings import get_settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL, version INTEGER NOT NULL, task TEXT NOT NULL, created REAL NOT NULL,
    card TEXT NOT NULL, PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS promoted (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
"""


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


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"support-intent@2"`` → ``("support-intent", 2)``; ``"support-intent"`` → ``(…, None)``."""
    name, sep, version = ref.partition("@")
    if not sep or not version:
        return name, None
    if not version.isdigit():
        raise BadInput(f"bad model reference {ref!r}: the version after '@' must be a number, e.g. {name}@2")
    return name, int(version)


class ArtifactStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else get_settings().home / "artifacts"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.root.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.root / "index.db", timeout=30)
        try:
            conn.executescript(_SCHEMA)
            with conn:
                yield conn
        finally:
            conn.close()

    @contextmanager
    def new_version(self, name: str, task: str) -> Iterator[Path]:
        """Yield an empty staging directory; on success it becomes the next version of ``name``."""
        check_name(name)
        (self.root / name).mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root / name))
        staging.chmod(0o755)  # mkdtemp makes it 0700; a published version is readable like any model directory
        try:
            yield staging
            card_path = staging / "model_card.json"
            card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
            card = _stamp(card, name, task)
            card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            _fsync_tree(staging)
            with self._db() as conn:  # the transaction serialises concurrent trainers of one name
                row = conn.execute("SELECT MAX(version) FROM versions WHERE name = ?", (name,)).fetchone()
                version = (row[0] or 0) + 1
                final = self.root / name / str(version)
                if final.exists():  # left by a crash between rename and commit: not in the index, so not valid
                    shutil.rmtree(final)
                os.replace(staging, final)
                _fsync_dir(self.root / name)
                conn.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?)",
                             (name, version, task, time.time(), json.dumps(card)))
                conn.execute("INSERT OR IGNORE INTO promoted VALUES (?, ?)", (name, version))
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def list(self, name: str | None = None) -> list[Artifact]:
        with self._db() as conn:
            promoted = dict(conn.execute("SELECT name, version FROM promoted").fetchall())
            rows = conn.execute(
                "SELECT name, version, task, created, card FROM versions"
                + (" WHERE name = ?" if name else "") + " ORDER BY name, version", (name,) if name else ()
            ).fetchall()
        return [Artifact(n, v, t, c, json.loads(card), self.root / n / str(v), promoted.get(n) == v)
                for n, v, t, c, card in rows]

    def get(self, ref: str) -> Artifact:
        """``name`` (the promoted version) or ``name@version``."""
        name, version = parse_ref(ref)
        versions = self.list(name)
        if not versions:
            known = sorted({a.name for a in self.list()})
            raise ModelNotFound(f"no trained model named {name!r}; trained: {', '.join(known) or 'none'}",
                                hint="`modelbay models list --trained`")
        for artifact in versions:
            if (version is None and artifact.promoted) or artifact.version == version:
                return artifact
        raise ModelNotFound(f"{name!r} has no version {version}; versions: {', '.join(str(a.version) for a in versions)}")

    def promote(self, ref: str) -> Artifact:
        artifact = self.get(ref)
        with self._db() as conn:
            conn.execute("INSERT OR REPLACE INTO promoted VALUES (?, ?)", (artifact.name, artifact.version))
        return self.get(artifact.name)


def _stamp(card: dict[str, Any], name: str, task: str) -> dict[str, Any]:
    """What every model card carries, whichever trainer wrote it: name, task, when, which modelbay."""
    from datetime import UTC, datetime

    from .. import __version__

    card = dict(card)
    card.setdefault("name", name)
    card.setdefault("task", task)
    card.setdefault("modelbay_version", __version__)
    card.setdefault("created", datetime.now(UTC).isoformat(timespec="seconds"))
    return card


def check_name(name: str) -> None:
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", name):
        raise BadInput(f"bad model name {name!r}: use 1-64 lowercase letters, digits, '.', '_' or '-'")


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
