"""Online learning for a trained bandit: rewards are committed to SQLite, then learnt, in order.

An item with a ``reward`` (and the ``action`` it rewards) is feedback. It is written to
``<MODELBAY_HOME>/decision/feedback.db`` before the answer, so it survives a restart; the policy
then applies every reward of its model it has not applied yet, oldest first (Sherman–Morrison, O(d²)
each), so several server processes sharing the file all learn every reward. A reward repeated
with the same ``event_id`` (a client's retry) is stored and learnt once. A retrained model version
starts from its own training data and an empty log (the log is per model name and version).

>>> store = FeedbackStore(Path("/tmp/feedback.db"))                                   # doctest: +SKIP
>>> store.add("offers@1", [("order-1", {"segment": "new"}, "free_shipping", 1.0)])     # doctest: +SKIP
[True]
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from ...core.state_db import connect_state_db, state_file

_SCHEMA = """CREATE TABLE IF NOT EXISTS rewards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    event_id TEXT,
    context_json TEXT NOT NULL,
    action TEXT NOT NULL,
    reward REAL NOT NULL,
    created_unix_s REAL NOT NULL,
    UNIQUE (model, event_id)
)"""

#: one reward: (event_id or None, context, action, reward)
Feedback = tuple[str | None, dict[str, Any], str, float]


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        connect_state_db(self.path, _SCHEMA).close()

    def _connect(self) -> sqlite3.Connection:
        return connect_state_db(self.path)

    def add(self, model: str, rewards: list[Feedback]) -> list[bool]:
        """Commit ``rewards`` in one transaction; False for a repeated ``(model, event_id)``."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            added = []
            for event_id, context, action, reward in rewards:
                cur = conn.execute("INSERT OR IGNORE INTO rewards (model, event_id, context_json, action, reward, "
                                   "created_unix_s) VALUES (?, ?, ?, ?, ?, ?)",
                                   (model, event_id, json.dumps(context), action, float(reward), time.time()))
                added.append(cur.rowcount == 1)
            conn.execute("COMMIT")
            return added
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def since(self, model: str, last_id: int) -> list[tuple[int, dict[str, Any], str, float]]:
        """Rewards of ``model`` stored after ``last_id``, oldest first."""
        conn = self._connect()
        try:
            rows = conn.execute("SELECT id, context_json, action, reward FROM rewards WHERE model = ? AND id > ? "
                                "ORDER BY id", (model, last_id)).fetchall()
        finally:
            conn.close()
        return [(i, json.loads(ctx), action, reward) for i, ctx, action, reward in rows]


def default_store_path() -> Path:
    """``<MODELBAY_HOME>/decision/feedback.db``."""
    return state_file("decision", "feedback.db")
