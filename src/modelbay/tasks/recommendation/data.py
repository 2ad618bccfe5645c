"""Interaction tables: one row per (user, item, time), from a file or a database (the event store).

    user_id,item_id,timestamp,event
    u1,i9,1700000000,view
    u1,i4,1700000050,purchase

Columns are found by name (``user_id``/``userId``/``user``…, ``item_id``/``movieId``/``item``…,
``timestamp``/``ts``/``time``…) or named with ``user_col``, ``item_col``, ``time_col``; an optional
``weight`` column or ``event`` column (view/click/purchase, weighted by ``event_weights``) says how
strong each interaction is. Item attribute columns (``title``, ``genres``, ``category``…) are kept
for filters and display. Timestamps are unix seconds or dates.

The temporal split puts the last ``test_fraction`` of time (by timestamp quantile) in the test
period; ``evaluation_records`` turns each test-period user into a record: the first
``history_fraction`` of their test-period items become ``history`` (as events arriving after
training would), the rest, minus what they had already seen, the ``relevant_items`` to find.

>>> frame = read_interactions("ratings.csv", InteractionColumns())      # doctest: +SKIP
>>> list(frame.columns)                                                  # doctest: +SKIP
['user_id', 'item_id', 'timestamp', 'weight', 'title', 'genres']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput

USER_NAMES = ("user_id", "userid", "user", "customer_id", "customer", "visitor_id", "session_id")
ITEM_NAMES = ("item_id", "itemid", "item", "movieid", "product_id", "product", "sku", "article_id")
TIME_NAMES = ("timestamp", "ts", "time", "datetime", "date", "ds", "created_at")
ATTRIBUTE_NAMES = ("title", "name", "genres", "genre", "category", "categories", "tags", "brand", "year")
#: default weight of an event type (``event`` column / ``POST /v1/events``); unknown types weigh 1
EVENT_WEIGHTS = {"view": 1.0, "click": 2.0, "add_to_cart": 3.0, "like": 3.0, "purchase": 5.0}


@dataclass(frozen=True)
class InteractionColumns:
    user_col: str | None = None
    item_col: str | None = None
    time_col: str | None = None
    weight_col: str | None = None
    event_col: str | None = None
    attribute_cols: tuple[str, ...] | None = None   # None: the usual names found in the table


def _find(found: list[str], wanted: str | None, names: tuple[str, ...], what: str, option: str) -> str | None:
    lower = {c.lower(): c for c in found}
    if wanted:
        if wanted not in found:
            raise BadInput(f"no column {wanted!r} for the {what}; the table has {found}", hint=f"fix {option}")
        return wanted
    return next((lower[n] for n in names if n in lower), None)


def read_interactions(source: str | Path, columns: InteractionColumns, event_weights: dict[str, float] | None = None):
    """A DataFrame of ``user_id, item_id, timestamp, weight`` (+ item attributes), sorted by time."""
    import numpy as np
    import pandas as pd

    frame = _read_frame(source)
    found = [str(c) for c in frame.columns]
    user = _find(found, columns.user_col, USER_NAMES, "user ids", "--param user_col=…")
    item = _find(found, columns.item_col, ITEM_NAMES, "item ids", "--param item_col=…")
    if user is None or item is None:
        raise BadInput(f"{source}: no {'user' if user is None else 'item'} id column among {found}",
                       hint="name the columns user_id, item_id (and timestamp), or pass user_col=…, item_col=…")
    when = _find(found, columns.time_col, TIME_NAMES, "timestamps", "--param time_col=…")
    weight = _find(found, columns.weight_col, ("weight",), "weights", "--param weight_col=…")
    event = _find(found, columns.event_col, ("event", "event_type", "action"), "event types", "--param event_col=…")
    out = pd.DataFrame({"user_id": frame[user].astype(str).str.strip(), "item_id": frame[item].astype(str).str.strip()})
    bad = (out.user_id == "") | (out.item_id == "") | frame[user].isna().to_numpy() | frame[item].isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise BadInput(f"{source}: row {row + 1} has no user or item id", hint="drop rows without ids")
    out["timestamp"] = _seconds(frame[when], source, when) if when else np.arange(len(frame), dtype=float)
    out["weight"] = _weights(frame, weight, event, event_weights or EVENT_WEIGHTS, source)
    attrs = columns.attribute_cols if columns.attribute_cols is not None else tuple(
        c for c in found if c.lower() in ATTRIBUTE_NAMES and c not in (user, item, when, weight, event))
    for col in attrs:
        if col not in found:
            raise BadInput(f"{source}: no attribute column {col!r}; the table has {found}")
        out[col] = frame[col].where(frame[col].notna(), "").astype(str)
    if out.empty:
        raise BadInput(f"{source}: no interactions", hint="a table with at least one user, item row is needed")
    return out.sort_values("timestamp", kind="stable").reset_index(drop=True)


def _read_frame(source: str | Path):
    from ...data.databases import read_frame

    return read_frame(str(source) if not isinstance(source, Path) else source)


def _seconds(values, source, col: str):
    import numpy as np
    import pandas as pd

    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.astype(float).to_numpy()
    try:
        parsed = pd.to_datetime(values.astype(str), format="mixed", utc=True)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"{source}: column {col!r} holds neither unix seconds nor dates ({exc})",
                       hint="use unix seconds or ISO dates (2024-01-31T10:00:00)") from None
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)


def _weights(frame, weight: str | None, event: str | None, event_weights: dict[str, float], source):
    import numpy as np
    import pandas as pd

    if weight is not None:
        values = pd.to_numeric(frame[weight], errors="coerce")
        if values.isna().any() or (values <= 0).any():
            row = int(np.flatnonzero((values.isna() | (values <= 0)).to_numpy())[0])
            raise BadInput(f"{source}: row {row + 1}: weight {frame[weight].iloc[row]!r} is not a positive number")
        return values.astype(float).to_numpy()
    if event is not None:
        return frame[event].astype(str).str.lower().map(lambda e: float(event_weights.get(e, 1.0))).to_numpy()
    return np.ones(len(frame))


def temporal_cutoff(timestamps, test_fraction: float) -> float:
    """The time before which interactions train and from which they test (the ``1 - test_fraction`` quantile)."""
    import numpy as np

    if not 0 < test_fraction < 1:
        raise BadInput(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    return float(np.quantile(np.asarray(timestamps, dtype=float), 1 - test_fraction))


def split_by_time(frame, test_fraction: float):
    """``(train, test)``: interactions before and from the cutoff time."""
    cut = temporal_cutoff(frame["timestamp"], test_fraction)
    return frame[frame["timestamp"] < cut], frame[frame["timestamp"] >= cut]


def evaluation_records(train, test, *, history_fraction: float = 0.5, k: int = 10) -> list[dict[str, Any]]:
    """One record per test-period user: ``user_id``, ``history`` (their first test-period items), ``relevant_items``."""
    if not 0 <= history_fraction < 1:
        raise BadInput(f"history_fraction must be in [0, 1), got {history_fraction}")
    known = train.groupby("user_id", sort=False)["item_id"].agg(set).to_dict()
    records = []
    for user, group in test.groupby("user_id", sort=True):
        items = list(dict.fromkeys(group["item_id"]))
        n_history = max(1, int(len(items) * history_fraction)) if history_fraction > 0 else 0
        seen = known.get(user, set()) | set(items[:n_history])
        relevant = [i for i in items[n_history:] if i not in seen]
        if relevant:
            records.append({"user_id": str(user), "history": items[:n_history], "k": k, "exclude_seen": True,
                            "use_events": False,  # the table is the whole truth: live events must not leak in
                            "relevant_items": relevant})
    if not records:
        raise BadInput("no user has new items in the test period", hint="raise test_fraction or lower history_fraction")
    return records
