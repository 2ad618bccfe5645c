"""The "anomaly" metric family: point precision/recall/F1 at the model's threshold, and event-window recall.

A truth is 1/0 (``true``/``false``, ``anomaly``/``normal`` too) for a record or a streaming point,
or a list of them for a whole series; a prediction is the flag (or flags) the model raised. Points
are pooled over all items for precision, recall and F1. An **event window** is a run of
consecutive anomalous truths (inside one series, or over consecutive records when each item is
one point); it counts as found when any point in it, or within ``window_margin`` points of it, is
flagged: an operator alerted once per incident has found it. With the outputs' scores, ROC-AUC
and average precision say how well the scores rank, whatever the threshold.

>>> m = anomaly([[0, 1, 1, 0, 0, 1]], [[0, 0, 1, 1, 0, 0]])
>>> m["headline"], round(m["f1"], 3), m["event_windows"], m["event_recall"]
('f1', 0.4, 2, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.errors import BadInput
from .common import check_pairs, choose_headline, family

_TRUE = {"1", "true", "yes", "anomaly", "anomalous", "outlier"}
_FALSE = {"0", "false", "no", "normal", "inlier", ""}


def _flag(value: Any, what: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in ("1.0",):
        return 1
    if text in _FALSE or text in ("0.0",):
        return 0
    raise BadInput(f"{what}: expected 1/0 (anomaly/normal), got {value!r:.60}")


def _flags(value: Any, what: str) -> list[int]:
    if isinstance(value, str) and value.strip().startswith("["):
        import json

        value = json.loads(value)
    if isinstance(value, (list, tuple)):
        return [_flag(v, what) for v in value]
    return [_flag(value, what)]


def _pairs(truths: Sequence, predictions: Sequence) -> list[tuple[list[int], list[int]]]:
    out = []
    for i, (t, p) in enumerate(zip(truths, predictions)):
        y, yhat = _flags(t, f"truth {i}"), _flags(p, f"prediction {i}")
        if len(y) != len(yhat):
            raise BadInput(f"item {i}: {len(y)} labels but {len(yhat)} flags")
        out.append((y, yhat))
    return out


def _counts(y: list[int], yhat: list[int]) -> tuple[int, int, int]:
    tp = sum(a and b for a, b in zip(y, yhat))
    return tp, sum(b and not a for a, b in zip(y, yhat)), sum(a and not b for a, b in zip(y, yhat))


def event_windows(y: list[int]) -> list[tuple[int, int]]:
    """``(start, end)`` (end inclusive) of each run of 1s.

    >>> event_windows([0, 1, 1, 0, 1])
    [(1, 2), (4, 4)]
    """
    runs, start = [], None
    for i, v in enumerate([*y, 0]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append((start, i - 1))
            start = None
    return runs


def _events(pairs: list[tuple[list[int], list[int]]], margin: int) -> tuple[int, int]:
    """(windows, windows found); single points in a row form one sequence, each series its own."""
    if all(len(y) == 1 for y, _ in pairs):
        pairs = [([y[0] for y, _ in pairs], [p[0] for _, p in pairs])]
    windows = found = 0
    for y, yhat in pairs:
        for start, end in event_windows(y):
            windows += 1
            found += any(yhat[max(0, start - margin):end + margin + 1])
    return windows, found


def _ranking(truths: list[int], extra: dict | None) -> dict[str, float | None]:
    """ROC-AUC and average precision of the outputs' scores (``score`` or ``scores``), when both classes occur."""
    outputs = (extra or {}).get("outputs") or []
    scores: list[float] = []
    for out in outputs:
        value = getattr(out, "scores", None) or getattr(out, "score", None)
        if value is None:
            return {}
        scores.extend(value if isinstance(value, list) else [value])
    if len(scores) != len(truths) or len(set(truths)) < 2:
        return {}
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {"roc_auc": float(roc_auc_score(truths, scores)), "average_precision": float(average_precision_score(truths, scores))}


def _f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _stats(truths, preds, extra, headline):
    import numpy as np

    if headline not in ("f1", "precision", "recall"):
        return None
    rows = np.array([_counts(y, p) for y, p in _pairs(truths, preds)], dtype=float)

    def reduce(sums):
        tp, fp, fn = sums[:, 0], sums[:, 1], sums[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            if headline == "precision":
                return np.where(tp + fp > 0, tp / (tp + fp), np.nan)
            if headline == "recall":
                return np.where(tp + fn > 0, tp / (tp + fn), np.nan)
            return np.where(tp > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    return rows, reduce


def _severity(truths, preds, extra):
    return [(fp + fn) or None for tp, fp, fn in (_counts(y, p) for y, p in _pairs(truths, preds))]


@family(stats=_stats, severity=_severity)
def anomaly(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """Precision, recall, F1 over points; event-window recall; ROC-AUC and AP of the scores when outputs carry them.

    ``extra["window_margin"]``: points before and after a window whose flag still finds it (default 0).
    """
    check_pairs(truths, predictions)
    margin = int((extra or {}).get("window_margin", 0))
    if margin < 0:
        raise BadInput(f"window_margin must be 0 or more points, got {margin}")
    pairs = _pairs(truths, predictions)
    tp, fp, fn = (sum(c) for c in zip(*(_counts(y, p) for y, p in pairs)))
    windows, found = _events(pairs, margin)
    flat = [v for y, _ in pairs for v in y]
    result = {
        "n": len(pairs), "points": len(flat), "anomalous_points": tp + fn, "flagged_points": tp + fp,
        "true_positives": tp, "false_positives": fp, "false_negatives": fn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": _f1(tp, fp, fn),
        "event_windows": windows, "event_windows_found": found,
        "event_recall": found / windows if windows else None, "window_margin": margin,
        **_ranking(flat, extra),
    }
    return choose_headline(result, "f1", extra)
