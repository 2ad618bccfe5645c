"""Reading many series from one long table (Nixtla's layout): one row per series and time step.

    unique_id,ds,y
    store_1,2024-01-01,120
    store_1,2024-02-01,131
    store_2,2024-01-01,80

``ds`` may be dates (any form pandas parses) or integers (time step numbers); rows may come in any
order (each series is sorted by ``ds``). A missing or non-numeric ``y``, a repeated ``ds`` in one
series or a missing column is a ``BadInput`` naming the line and the fix.

>>> series = read_long_table(Path("sales.csv"), LongColumns())      # doctest: +SKIP
>>> series[0].unique_id, series[0].values[:3], series[0].freq       # doctest: +SKIP
('store_1', [120.0, 131.0, 118.0], 'MS')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...core.errors import BadInput

#: season lengths implied by pandas frequency prefixes (the first match wins)
SEASON_BY_FREQ: tuple[tuple[str, int], ...] = (
    ("min", 60), ("h", 24), ("H", 24), ("B", 5), ("D", 7), ("W", 52), ("SM", 24), ("M", 12), ("BM", 12),
    ("Q", 4), ("BQ", 4), ("A", 1), ("Y", 1), ("BA", 1), ("BY", 1),
)


@dataclass(frozen=True)
class LongColumns:
    id_col: str = "unique_id"
    ds_col: str = "ds"
    y_col: str = "y"
    format: str | None = None      # csv, tsv, jsonl, json, parquet when the suffix does not say
    exog_cols: tuple[str, ...] = ()  # regressors known in advance (price, promotion, holiday), numbers


@dataclass
class Series:
    unique_id: str
    values: list[float]
    timestamps: list[str] | None = None     # ISO dates, when ds holds dates
    freq: str | None = None                 # pandas frequency alias inferred from the dates
    lines: list[str] = field(default_factory=list)
    exog: dict[str, list[float]] = field(default_factory=dict)  # regressor values, one per value


def season_from_freq(freq: str | None) -> int | None:
    """The usual season length of a pandas frequency (``"MS"`` → 12, ``"QS-OCT"`` → 4, ``"D"`` → 7)."""
    if not freq:
        return None
    base = freq.split("-")[0].lstrip("0123456789")
    for prefix, season in SEASON_BY_FREQ:
        if base == prefix or (base.startswith(prefix) and base[len(prefix):] in ("S", "E", "ES", "")):
            return season
    return None


def infer_freq(timestamps: list[str]) -> str | None:
    """pandas' frequency alias of evenly spaced dates, or None (fewer than 3 dates, or uneven)."""
    if len(timestamps) < 3:
        return None
    import pandas as pd

    try:
        return pd.infer_freq(pd.DatetimeIndex(pd.to_datetime(timestamps)))
    except (ValueError, TypeError):
        return None


def future_timestamps(last: str, freq: str, horizon: int) -> list[str]:
    """The ``horizon`` dates after ``last`` at frequency ``freq``, as ISO strings."""
    import pandas as pd

    dates = pd.date_range(start=pd.Timestamp(last), periods=horizon + 1, freq=freq)[1:]
    return [d.isoformat() if (d.hour or d.minute or d.second) else d.date().isoformat() for d in dates]


def parse_dates(values: list[Any], where: str) -> list[str]:
    """Dates as ISO strings; a value pandas cannot read is a ``BadInput`` naming ``where``."""
    import pandas as pd

    try:
        parsed = pd.to_datetime([str(v) for v in values], format="mixed")
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadInput(f"{where}: not dates pandas can read ({exc})",
                       hint="use ISO dates (2024-01-31) or integer time steps") from None
    return [d.isoformat() if (d.hour or d.minute or d.second) else d.date().isoformat() for d in parsed]


def read_long_table(path: Path | str, columns: LongColumns) -> list[Series]:
    """Every series of a long table, in order of first appearance, each sorted by ``ds``."""
    from ...data.loaders import read_table

    rows = read_table(path, columns.format)
    found = list(rows[0][1])
    missing = [c for c in (columns.id_col, columns.ds_col, columns.y_col, *columns.exog_cols) if c not in found]
    if missing:
        raise BadInput(f"{path}: no column(s) {missing}; the table has {found}",
                       hint="name them with id_col, ds_col, y_col and exog_cols (--param y_col=sales)")
    groups: dict[str, list[tuple[Any, float, str, tuple[float, ...]]]] = {}
    for line, row in rows:
        where = f"{path}:{line}"
        key = str(row[columns.id_col]).strip()
        if not key:
            raise BadInput(f"{where}: empty {columns.id_col!r}", hint="every row needs the id of its series")
        x = tuple(_number(row[c], where, c) for c in columns.exog_cols)
        groups.setdefault(key, []).append((row[columns.ds_col], _number(row[columns.y_col], where, columns.y_col), where, x))
    series = [_series(key, items, columns.ds_col) for key, items in groups.items()]
    for one, items in zip(series, groups.values()):
        order = {line: i for i, (_, _, line, _) in enumerate(items)}
        one.exog = {c: [items[order[line]][3][j] for line in one.lines] for j, c in enumerate(columns.exog_cols)}
    return series


def _number(value: Any, where: str, col: str) -> float:
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            raise BadInput(f"{where}: no value in {col!r}",
                           hint="fill the gap (e.g. 0 for no sales, or an interpolated value) or drop the row")
    if isinstance(value, bool) or value is None:
        raise BadInput(f"{where}: {col!r} is {value!r}; expected a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{where}: {col!r} is {value!r:.40}; expected a number") from None
    if not math.isfinite(number):
        raise BadInput(f"{where}: {col!r} is {value!r}; expected a finite number",
                       hint="fill missing values before forecasting")
    return number


def _series(key: str, items: list[tuple[Any, float, str, tuple[float, ...]]], ds_col: str) -> Series:
    raw = [item[0] for item in items]
    steps = [_int_step(v) for v in raw]
    if all(s is not None for s in steps):
        order = sorted(range(len(items)), key=lambda i: steps[i])
        keys: list[Any] = [steps[i] for i in order]
        timestamps, freq = None, None
    else:
        dates = parse_dates(raw, f"series {key!r}, column {ds_col!r}")
        order = sorted(range(len(items)), key=lambda i: dates[i])
        keys = timestamps = [dates[i] for i in order]
        freq = infer_freq(timestamps)
    for pos in range(1, len(order)):
        if keys[pos] == keys[pos - 1]:
            a, b = order[pos - 1], order[pos]
            raise BadInput(f"{items[b][2]}: series {key!r} repeats {ds_col} {raw[b]!r} (also at {items[a][2]})",
                           hint="keep one row per series and time step")
    return Series(key, [items[i][1] for i in order], timestamps, freq, [items[i][2] for i in order])


def _int_step(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) < 8:
        return int(value)
    return None
