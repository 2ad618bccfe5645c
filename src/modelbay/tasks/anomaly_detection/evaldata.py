"""Labelled data for ``modelbay eval anomaly-detection``: series (a ``value`` column) or records.

A table with a ``value`` column holds series: one per ``series_id`` (one series without that
column), in row order or sorted by ``timestamp``; each becomes one record ``{"series": [...],
"label": [0, 1, ...]}``. Any other table holds records: every column but the label is a
feature, and each row becomes ``{"features": {...}, "label": 0 or 1}`` (scored by a trained model).

Options (``--param``): ``label_col`` (label), ``value_col`` (value), ``series_col`` (series_id),
``timestamp_col`` (timestamp), ``drop_cols``, ``format``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import BadInput


def _labels(frame: Any, col: str, where: str) -> list[int]:
    from ...ml.metrics.anomaly import _flag

    return [_flag(v, f"{where}: {col!r} row {i + 1}") for i, v in enumerate(frame[col].tolist())]


def evaluation_records(path: str | Path, options: dict[str, Any]) -> list[dict[str, Any]]:
    from ...data.databases import read_frame

    label_col = str(options.get("label_col", "label"))
    value_col = str(options.get("value_col", "value"))
    frame = read_frame(path, columns=[label_col])
    if frame.empty:
        raise BadInput(f"{path}: no rows to evaluate")
    if value_col in frame.columns:
        return _series_records(frame, options, label_col, value_col, str(path))
    return _feature_records(frame, options, label_col, str(path))


def _series_records(frame: Any, options: dict[str, Any], label_col: str, value_col: str, where: str) -> list[dict]:
    import pandas as pd

    series_col = str(options.get("series_col", "series_id"))
    ts_col = str(options.get("timestamp_col", "timestamp"))
    values = pd.to_numeric(frame[value_col], errors="coerce")
    if values.isna().any():
        row = int(values.isna().to_numpy().nonzero()[0][0])
        raise BadInput(f"{where}: {value_col!r} row {row + 1} is {frame[value_col].iloc[row]!r}, not a number")
    frame = frame.assign(**{value_col: values, "_label": _labels(frame, label_col, where)})
    groups = frame.groupby(series_col, sort=False) if series_col in frame.columns else [(None, frame)]
    records = []
    for key, group in groups:
        if ts_col in group.columns:
            group = group.iloc[_time_order(group[ts_col], where)]
        record: dict[str, Any] = {"series": group[value_col].astype(float).tolist(), "label": group["_label"].tolist()}
        if key is not None:
            record["series_id"] = str(key)
        if ts_col in group.columns:
            record["timestamps"] = [str(t) for t in group[ts_col].tolist()]
        records.append(record)
    return records


def _time_order(column: Any, where: str) -> list[int]:
    """Row positions sorted by time: numbers (time steps) as numbers, else dates."""
    import pandas as pd

    keys = pd.to_numeric(column, errors="coerce")
    if keys.isna().any():
        try:
            keys = pd.to_datetime(column.astype(str), format="mixed")
        except (ValueError, TypeError):
            raise BadInput(f"{where}: {column.name!r} holds neither time steps nor dates pandas can read") from None
    return sorted(range(len(keys)), key=lambda i: keys.iloc[i])


def _feature_records(frame: Any, options: dict[str, Any], label_col: str, where: str) -> list[dict]:
    import pandas as pd

    drop = set(options.get("drop_cols") or ()) if not isinstance(options.get("drop_cols"), str) else {options["drop_cols"]}
    labels = _labels(frame, label_col, where)
    columns = [c for c in frame.columns if c != label_col and c not in drop]
    records = []
    numeric = frame[columns].apply(pd.to_numeric, errors="coerce")
    for i in range(len(frame)):
        row = numeric.iloc[i]
        records.append({"features": {c: (None if pd.isna(row[c]) else float(row[c])) for c in columns}, "label": labels[i]})
    return records
