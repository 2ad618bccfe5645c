"""The event store: interactions posted to ``/v1/events``, kept durably and read back at once.

SQLite by default, ``<data dir>/events.db`` (the first of ``MODELBAY_DATA_DIRS``, default
``<MODELBAY_HOME>/data``, where the server's training jobs may read it), in WAL mode with
``synchronous=FULL``: an append returns only after its transaction is committed and on disk, so
an event the server acknowledged survives the process being killed (and the machine losing
power). ``MODELBAY_EVENTS_URL=postgresql://user@host/shop`` stores them in PostgreSQL instead
(SQLAlchemy 2 with psycopg 3, for both).

The table is the interaction table the trainer reads (``data.py``), so the next retrain is
``modelbay train recommendation --data "sqlite:///…/events.db?table=events"``:

    events(id, user_id, item_id, event, weight, timestamp, received_at)

>>> store = EventStore("sqlite:////tmp/events.db")                                        # doctest: +SKIP
>>> store.append([{"user_id": "u1", "item_id": "i9", "event": "view", "weight": 1.0, "timestamp": 1.7e9}])  # doctest: +SKIP
1
>>> store.items_of("u1")                                                                   # doctest: +SKIP
[('i9', 1.0)]
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ...core.errors import BadInput, ModelbayError

TABLE = "events"


class EventSettings(BaseSettings):
    """``MODELBAY_EVENTS_URL`` and ``MODELBAY_EVENTS_SYNCHRONOUS``."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_EVENTS_", extra="ignore")

    url: str | None = Field(None, description="SQLAlchemy URL of the event database (default: SQLite in the data dir)")
    synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="SQLite: FULL survives power loss; NORMAL (WAL) survives a killed process, not power loss")


def default_events_url() -> str:
    """``MODELBAY_EVENTS_URL``, else SQLite in the data dir (read from the environment on each call: cheap)."""
    import os

    from ...core.settings import get_settings

    configured = os.environ.get("MODELBAY_EVENTS_URL")  # EventSettings.url; a settings object costs 1.5 ms a call
    if configured:
        return configured
    return f"sqlite:///{(get_settings().data_dirs[0] / 'events.db').resolve()}"


class EventStoreError(ModelbayError):
    status_code = 503
    code = "event_store_unavailable"


@dataclass
class _Pending:
    rows: list[dict[str, Any]]
    done: bool = False
    error: str | None = None


class EventStore:
    """Appends and per-user reads of events; thread-safe, one per process and URL (``shared_store``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None
        self._lock = threading.Lock()           # held while a transaction commits
        self._queue_lock = threading.Lock()     # guards _pending
        self._pending: list[_Pending] = []
        self._engine = None
        self._table = None

    def _open(self, create: bool) -> bool:
        """Connect (creating the file and table when ``create``); False if a SQLite file is not there yet."""
        if self._engine is not None:
            return True
        if self.path is not None and not create and not self.path.exists():
            return False
        from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, create_engine, event

        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(self.url, connect_args={"timeout": 30, "check_same_thread": False})
            synchronous = EventSettings().synchronous

            @event.listens_for(engine, "connect")
            def _pragmas(conn, _record) -> None:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={synchronous}")
        else:
            from ...data.databases import split_database_url

            engine = create_engine(split_database_url(f"{self.url}{'&' if '?' in self.url else '?'}table={TABLE}")[0])
        meta = MetaData()
        table = Table(TABLE, meta, Column("id", Integer, primary_key=True, autoincrement=True),
                      Column("user_id", String(200), nullable=False), Column("item_id", String(200), nullable=False),
                      Column("event", String(40), nullable=False), Column("weight", Float, nullable=False),
                      Column("timestamp", Float, nullable=False), Column("received_at", Float, nullable=False),
                      Index("ix_events_user_id", "user_id"))
        try:
            meta.create_all(engine)
        except Exception as exc:  # noqa: BLE001 - any driver's error: say which store and what to check
            raise EventStoreError(f"cannot open the event store {self.safe_url()} ({type(exc).__name__}: {exc})",
                                  hint="check MODELBAY_EVENTS_URL, the database server and its permissions") from None
        self._engine, self._table = engine, table
        return True

    def safe_url(self) -> str:
        import re

        return re.sub(r"://[^:/@]*:[^@/]*@", "://***@", self.url)

    def append(self, events: list[dict[str, Any]]) -> int:
        """Store ``events``, committed, before returning; returns how many. Nothing is stored on an error.

        Group commit: appends that arrive while a commit is on disk wait for the write lock, and the
        first to get it commits every waiting batch in one transaction (one fsync for all of them),
        so many single-event requests at once cost one disk flush, not one each.
        """
        if not events:
            return 0
        now = time.time()
        mine = _Pending([{**e, "received_at": now} for e in events])
        with self._queue_lock:
            self._pending.append(mine)
        with self._lock:
            if not mine.done:
                with self._queue_lock:
                    batch, self._pending = self._pending, []
                self._commit(batch)
        if mine.error is not None:
            raise EventStoreError(f"the event store {self.safe_url()} refused {len(mine.rows)} events ({mine.error})",
                                  hint="nothing of this request was stored; send it again")
        return len(mine.rows)

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self._open(create=True)
            with self._engine.begin() as conn:
                conn.execute(self._table.insert(), [row for pending in batch for row in pending.rows])
        except Exception as exc:  # noqa: BLE001 - every waiting client must learn its events were not stored
            for pending in batch:
                pending.error = f"{type(exc).__name__}: {exc}"
        for pending in batch:
            pending.done = True

    def items_of(self, user_id: str) -> list[tuple[str, float]]:
        """The (item id, weight) of every event of ``user_id``, oldest first."""
        if not self._open(create=False):
            return []
        from sqlalchemy import select

        t = self._table
        with self._engine.connect() as conn:
            rows = conn.execute(select(t.c.item_id, t.c.weight).where(t.c.user_id == user_id).order_by(t.c.id))
            return [(str(item), float(weight)) for item, weight in rows]

    def count(self) -> int:
        if not self._open(create=False):
            return 0
        from sqlalchemy import func, select

        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self._table)).scalar_one())


_STORES: dict[str, EventStore] = {}
_STORES_LOCK = threading.Lock()


def shared_store(url: str | None = None) -> EventStore:
    """The process's one store for ``url`` (default: ``default_events_url()``)."""
    url = url or default_events_url()
    if not (url.startswith("sqlite:///") or url.split(":", 1)[0].split("+")[0] in ("postgresql", "postgres")):
        raise BadInput(f"event store URL {url!r}: expected sqlite:///path/events.db or postgresql://…",
                       hint="set MODELBAY_EVENTS_URL")
    with _STORES_LOCK:
        return _STORES.setdefault(url, EventStore(url))
