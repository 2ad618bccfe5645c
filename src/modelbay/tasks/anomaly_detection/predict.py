"""Answering a batch of anomaly inputs: series one by one, streaming points in one transaction, records together."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...core.errors import BadInput


def predict_items(task: Any, items: list) -> list:
    """One output per item, in order (``task`` is a set-up ``AnomalyDetection``).

    Streaming points go last, in one transaction: if a series or a record of the batch fails, no
    point has changed any state, so the server's retry of the batch one request at a time applies
    each point once.
    """
    outputs: list[Any] = [None] * len(items)
    points = [i for i, item in enumerate(items) if item.value is not None]
    records = [i for i, item in enumerate(items) if item.features is not None]
    for i, item in enumerate(items):
        if item.series is not None:
            outputs[i] = _series_output(task, item)
    if records:
        for i, out in zip(records, _record_outputs(task, [items[i] for i in records])):
            outputs[i] = out
    if points:
        for i, out in zip(points, _point_outputs(task, [items[i] for i in points])):
            outputs[i] = out
    return outputs


def _series_output(task: Any, item: Any) -> Any:
    from .series import score_series

    options = replace(task.options, method=item.method or task.options.method,
                      threshold=item.threshold or task.options.threshold,
                      season_length=item.season_length or task.options.season_length)
    if options.season_length is None and item.timestamps:
        options = replace(options, season_length=_season_from_dates(item.timestamps))
    result = score_series(item.series, options)
    return task.Output(kind="series", method=result.method, threshold=options.threshold, scores=result.scores,
                       flags=result.flags, anomalies=[i for i, f in enumerate(result.flags) if f],
                       change_points=result.change_points, season_length=result.season_length, series_id=item.series_id)


#: usual season lengths of evenly spaced dates, by pandas frequency prefix
_SEASONS = (("min", 60), ("h", 24), ("H", 24), ("D", 7), ("B", 5), ("W", 52), ("M", 12), ("Q", 4))


def _season_from_dates(timestamps: list[str]) -> int | None:
    import pandas as pd

    if all(t.strip().lstrip("-").isdigit() for t in timestamps):
        return None  # time step numbers: no calendar season
    try:
        freq = pd.infer_freq(pd.DatetimeIndex(pd.to_datetime(timestamps, format="mixed")))
    except (ValueError, TypeError):
        raise BadInput(f"timestamps: not dates pandas can read (first: {timestamps[0]!r:.40})",
                       hint="use ISO dates, or leave timestamps out") from None
    base = (freq or "").split("-")[0].lstrip("0123456789")
    return next((season for prefix, season in _SEASONS if base.startswith(prefix)), None)


def _point_outputs(task: Any, items: list) -> list:
    results = task.store().update(task.stream_key, [(it.series_id, it.value, it.timestamp, it.threshold) for it in items],
                                  task.options)
    return [task.Output(kind="point", method="stream", threshold=it.threshold or task.options.threshold, score=r.score,
                        is_anomaly=r.is_anomaly, series_id=r.series_id, n_seen=r.n_seen, warming_up=r.warming_up,
                        median=r.median, replayed=r.replayed)
            for it, r in zip(items, results)]


def _record_outputs(task: Any, items: list) -> list:
    if task.trained is None:
        raise BadInput(f"model {task.model.spec.name!r} scores series and streaming points; a record (features) needs a "
                       "detector trained on your normal rows",
                       hint="modelbay train anomaly-detection --data normal.csv --name my-detector, then --model my-detector")
    scores = task.trained.scores([it.features for it in items])
    algorithm = task.trained.config["algorithm"]
    return [task.Output(kind="record", method=algorithm, threshold=it.threshold or task.trained.threshold, score=s,
                        is_anomaly=s > (it.threshold or task.trained.threshold))
            for it, s in zip(items, scores)]
