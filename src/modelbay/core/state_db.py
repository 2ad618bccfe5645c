"""SQLite files that keep a capability's state between requests, opened one way.

The anomaly detector's per-series windows and the bandit's rewards live in files under
``MODELBAY_HOME``: WAL (readers never wait for the writer), explicit transactions
(``isolation_level=None``: callers say ``BEGIN IMMEDIATE``), a busy timeout so concurrent writers
queue instead of failing, and ``synchronous=NORMAL``: a commit survives a crash or a restart of the
process; only a power loss can drop the last commits, and it never corrupts the file.

>>> conn = connect_state_db(Path("/tmp/state.db"), "CREATE TABLE IF NOT EXISTS t (x)")   # doctest: +SKIP
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: how long a writer waits for another's transaction before giving up
BUSY_TIMEOUT_S = 30.0


def state_file(*parts: str) -> Path:
    """``<MODELBAY_HOME>/<parts…>``: where a capability keeps its state file (``state_file("anomaly", "streams.db")``)."""
    from .settings import get_settings

    return get_settings().home.joinpath(*parts)


def connect_state_db(path: Path, schema: str | None = None) -> sqlite3.Connection:
    """A connection to the state file ``path`` (made with its folder if missing); with ``schema``, set it up first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA synchronous=NORMAL")
    if schema:  # once, when the store is opened: WAL is a property of the file from then on
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(schema)
    return conn
