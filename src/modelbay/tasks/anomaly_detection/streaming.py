"""Streaming points: per-series state in SQLite, so it survives a restart and concurrent points lose no update.

Each series (keyed by the model and the series id) keeps its last ``window_points`` values. A new
point is scored by its robust z-score against them (median and MAD, as ``series.rolling_scores``
does for a whole series), then joins the window. A point with the same timestamp and value as its
series' last one is a client's retry: it gets the stored answer and changes nothing. A batch of
points is one ``BEGIN IMMEDIATE`` transaction: readers and writers in other threads or processes
(two servers on one home) wait for it, so two points for one series are never both applied to the
same old state, and a failed batch changes nothing.

>>> store = StreamStore(Path("/tmp/streams.db"))                                     # doctest: +SKIP
>>> store.update("anomaly-robust", [("cpu-web-1", 93.1, None, None)], SeriesOptions())[0].n_seen   # doctest: +SKIP
1
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ...core.state_db import connect_state_db, state_file
from .series import SeriesOptions, robust_center_scale

#: how long a writer waits for another one before giving up

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series_state (
    model TEXT NOT NULL,
    series_id TEXT NOT NULL,
    window_json TEXT NOT NULL,
    n_seen INTEGER NOT NULL,
    n_flagged INTEGER NOT NULL,
    last_timestamp TEXT,
    last_point_json TEXT,
    updated_unix_s REAL NOT NULL,
    PRIMARY KEY (model, series_id)
)
"""


@dataclass
class PointResult:
    series_id: str
    score: float
    is_anomaly: bool
    warming_up: bool
    n_seen: int          # points of this series seen so far, this one included
    median: float | None
    scale: float | None
    replayed: bool = False   # the series' last point again (same timestamp and value): answered, not counted


def _replay(row: tuple | None, series_id: str, value: float, timestamp: str | None) -> PointResult | None:
    """The stored answer when this point repeats the series' last one (a client's retry), else None."""
    if row is None or timestamp is None or not row[3]:
        return None
    last = json.loads(row[3])
    if last["timestamp"] != timestamp or last["value"] != value:
        return None
    return PointResult(series_id, last["score"], last["is_anomaly"], last["warming_up"], row[1], last["median"],
                       last["scale"], replayed=True)


class StreamStore:
    """The per-series windows of streaming anomaly detection, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        connect_state_db(self.path, _SCHEMA).close()

    def _connect(self) -> sqlite3.Connection:
        return connect_state_db(self.path)

    def update(self, model: str, points: list[tuple[str, float, str | None, float | None]],
               options: SeriesOptions) -> list[PointResult]:
        """Score ``(series_id, value, timestamp, threshold or None)`` points in order; each joins its series' window."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            results = [self._one(conn, model, sid, value, ts, options, threshold) for sid, value, ts, threshold in points]
            conn.execute("COMMIT")
            return results
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    @staticmethod
    def _one(conn: sqlite3.Connection, model: str, series_id: str, value: float, timestamp: str | None,
             options: SeriesOptions, threshold: float | None) -> PointResult:
        row = conn.execute("SELECT window_json, n_seen, n_flagged, last_point_json FROM series_state "
                           "WHERE model = ? AND series_id = ?", (model, series_id)).fetchone()
        replayed = _replay(row, series_id, value, timestamp)
        if replayed is not None:
            return replayed
        window, n_seen, n_flagged = (json.loads(row[0]), row[1], row[2]) if row else ([], 0, 0)
        warming_up = len(window) < max(options.min_points, 1)
        median = scale = None
        score = 0.0
        if not warming_up:
            median, scale = robust_center_scale(window)
            score = abs(value - median) / scale
        flagged = bool(score > (threshold or options.threshold))
        window = (window + [value])[-options.window_points:]
        last = {"timestamp": timestamp, "value": value, "score": float(score), "is_anomaly": flagged,
                "warming_up": warming_up, "median": median, "scale": scale}
        conn.execute(
            "INSERT INTO series_state VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(model, series_id) DO UPDATE SET "
            "window_json = excluded.window_json, n_seen = excluded.n_seen, n_flagged = excluded.n_flagged, "
            "last_timestamp = COALESCE(excluded.last_timestamp, last_timestamp), "
            "last_point_json = excluded.last_point_json, updated_unix_s = excluded.updated_unix_s",
            (model, series_id, json.dumps(window), n_seen + 1, n_flagged + flagged, timestamp, json.dumps(last),
             time.time()))
        return PointResult(series_id, float(score), flagged, warming_up, n_seen + 1, median, scale)

    def state(self, model: str, series_id: str) -> dict | None:
        """A series' stored state (window, counts, last timestamp), or None if it has none."""
        conn = self._connect()
        try:
            row = conn.execute("SELECT window_json, n_seen, n_flagged, last_timestamp FROM series_state "
                               "WHERE model = ? AND series_id = ?", (model, series_id)).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        return {"window": json.loads(row[0]), "n_seen": row[1], "n_flagged": row[2], "last_timestamp": row[3]}


def default_store_path() -> Path:
    """``<MODELBAY_HOME>/anomaly/streams.db``."""
    return state_file("anomaly", "streams.db")
