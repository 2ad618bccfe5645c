"""What an API key may do: its scopes, and which scope each server path needs.

``run`` covers the tasks, the model list, the OpenAI-compatible routes and knowledge-base search;
``train`` covers ``/v1/jobs*`` and changing knowledge bases (training reads data on the server and publishes models, so a key
that only runs models must not reach it); ``metrics`` covers ``/metrics`` (so the
credential in a Prometheus config can do nothing else); ``admin`` implies them all.

>>> VerifiedKey("4c393e9d4ffe", frozenset({"run"})).allows(scope_for_path("/v1/jobs/train"))
False
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from ..core.errors import ModelbayError

#: what a key may do, in display order; ``admin`` implies every other scope
SCOPES = ("run", "train", "metrics", "admin")
#: what `modelbay keys create` gives when no --scope is named: the least privilege that serves models
DEFAULT_SCOPES = ("run",)
#: what keys created before scopes existed get: they could do everything, so upgrading breaks no deployment
LEGACY_SCOPES = "admin"


class UnknownScope(ModelbayError, ValueError):
    status_code = 400
    code = "unknown_scope"


@dataclass(frozen=True)
class VerifiedKey:
    """A valid, unrevoked key as the server sees it on each request: its id and what it may do."""

    id: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def normalize_scopes(scopes: Iterable[str] | str) -> tuple[str, ...]:
    """Validate scope names (each may be comma-separated) and return them in :data:`SCOPES` order.

    >>> normalize_scopes(["train,run", "run"])
    ('run', 'train')
    """
    if isinstance(scopes, str):
        scopes = [scopes]
    wanted = {part.strip().lower() for item in scopes for part in str(item).split(",") if part.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown or not wanted:
        raise UnknownScope(f"unknown API key scope {', '.join(map(repr, unknown))}" if unknown
                           else "an API key needs at least one scope",
                           hint=f"scopes are {', '.join(SCOPES)} (admin = all), e.g. `--scope run --scope train`")
    return tuple(s for s in SCOPES if s in wanted)


def scope_for_path(path: str, method: str = "GET") -> str:
    """The scope a ``method`` request to ``path`` (without the root path) needs.

    Knowledge bases: searching and listing are ``run``; creating, uploading and deleting change what
    the assistant answers from, so they are ``train``.

    >>> scope_for_path("/v1/jobs"), scope_for_path("/metrics"), scope_for_path("/v1/tasks/sentiment")
    ('train', 'metrics', 'run')
    >>> scope_for_path("/v1/kb/support/search", "POST"), scope_for_path("/v1/kb/support/documents", "POST")
    ('run', 'train')
    """
    if path == "/v1/jobs" or path.startswith("/v1/jobs/"):
        return "train"
    if (path == "/v1/kb" or path.startswith("/v1/kb/")) and method not in ("GET", "HEAD"):
        return "run" if path.endswith("/search") and method == "POST" else "train"
    if path == "/metrics":
        return "metrics"
    return "run"


def add_scopes_column(conn: sqlite3.Connection) -> None:
    """Migrate a key file from before scopes: add the column, and give the keys already there every scope.

    In one write transaction that checks again, so two processes opening an old file at once migrate it once.
    """
    def has_scopes() -> bool:
        return any(row[1] == "scopes" for row in conn.execute("PRAGMA table_info(api_keys)"))

    if has_scopes():
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not has_scopes():
            conn.execute("ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'run'")
            conn.execute("UPDATE api_keys SET scopes = ?", (LEGACY_SCOPES,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
