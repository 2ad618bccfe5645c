"""Metric families over numbers and rankings: "ranking", "regression", "forecast"."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...core.errors import BadInput
from .common import check_pairs, choose_headline, family, mean_stats, ratio, to_float, to_floats

# -- ranking ------------------------------------------------------------------------------------


def _item_id(item: Any) -> str:
    if isinstance(item, dict):
        item = item.get("id", item.get("doc_id"))
    elif not isinstance(item, (str, int)):
        item = getattr(item, "id", item)
    return str(item)


def _gains(truth: Any, i: int) -> dict[str, float]:
    """Relevant ids with their gains: a list/set of ids (gain 1) or ``{id: graded relevance}``."""
    if isinstance(truth, str):
        import json

        try:
            truth = json.loads(truth) if truth.strip()[:1] in "[{" else [x.strip() for x in truth.split(",")]
        except ValueError:
            raise BadInput(f"truth {i}: expected relevant ids, got {truth!r:.60}") from None
    if isinstance(truth, dict):
        return {str(k): to_float(v, f"truth {i}") for k, v in truth.items() if to_float(v, f"truth {i}") > 0}
    if isinstance(truth, (list, tuple, set, frozenset)):
        return {_item_id(x): 1.0 for x in truth}
    raise BadInput(f"truth {i}: expected a list of relevant ids or {{id: relevance}}, got {type(truth).__name__}")


def _ranked(pred: Any, i: int) -> list[str]:
    if isinstance(pred, str):
        pred = [x.strip() for x in pred.split(",") if x.strip()]
    if not isinstance(pred, (list, tuple)):
        raise BadInput(f"prediction {i}: expected a ranked list of ids, got {type(pred).__name__}")
    seen, out = set(), []
    for item in pred:  # a repeated id counts once, at its best rank
        key = _item_id(item)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def _ranking_rows(truths, preds, k: int) -> list[dict[str, float] | None]:
    rows = []
    for i, (t, p) in enumerate(zip(truths, preds)):
        gains, ranked = _gains(t, i), _ranked(p, i)
        if not gains:
            rows.append(None)  # a query with nothing relevant has no NDCG/recall/AP
            continue
        dcg = sum(gains.get(doc, 0.0) / math.log2(r + 2) for r, doc in enumerate(ranked[:k]))
        idcg = sum(g / math.log2(r + 2) for r, g in enumerate(sorted(gains.values(), reverse=True)[:k]))
        hits_at_k = sum(doc in gains for doc in ranked[:k])
        precisions, first = [], None
        for r, doc in enumerate(ranked, 1):
            if doc in gains:
                precisions.append((len(precisions) + 1) / r)
                first = first or r
        rows.append({"ndcg": dcg / idcg, "recall": hits_at_k / len(gains), "precision": hits_at_k / k,
                     "ap": sum(precisions) / len(gains), "rr": 1 / first if first else 0.0})
    return rows


def _k(extra: dict | None) -> int:
    k = int((extra or {}).get("k", 10))
    if k < 1:
        raise BadInput(f"k must be at least 1, got {k}")
    return k


def _ranking_stats(truths, preds, extra, headline):
    k = _k(extra)
    key = {f"ndcg@{k}": "ndcg", f"recall@{k}": "recall", f"precision@{k}": "precision", "map": "ap", "mrr": "rr"}.get(headline)
    if key is None:
        return None
    return mean_stats([math.nan if r is None else r[key] for r in _ranking_rows(truths, preds, k)])


def _ranking_severity(truths, preds, extra):
    return [None if r is None or r["ndcg"] >= 1 else 1 - r["ndcg"] for r in _ranking_rows(truths, preds, _k(extra))]


@family(stats=_ranking_stats, severity=_ranking_severity)
def ranking(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """NDCG@k (linear gains), Recall@k, Precision@k, MAP and MRR, averaged over queries with a relevant item.

    Each truth is the relevant ids (or ``{id: graded relevance}``), each prediction the ranked ids;
    ``extra["k"]`` defaults to 10.

    >>> m = ranking([["a", "c"]], [["a", "b", "c"]], {"k": 3})
    >>> round(m["ndcg@3"], 4), m["recall@3"], round(m["map"], 4), m["mrr"]
    (0.9197, 1.0, 0.8333, 1.0)
    """
    n = check_pairs(truths, predictions)
    k = _k(extra)
    rows = [r for r in _ranking_rows(truths, predictions, k) if r is not None]
    if not rows:
        raise BadInput("no query has a relevant item, so ranking metrics are undefined")
    avg = {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}
    result = {"n": n, "k": k, f"ndcg@{k}": avg["ndcg"], f"recall@{k}": avg["recall"], f"precision@{k}": avg["precision"],
              "map": avg["ap"], "mrr": avg["rr"], "queries_without_relevant": n - len(rows)}
    return choose_headline(result, f"ndcg@{k}", extra)


# -- regression ---------------------------------------------------------------------------------


def _numbers(truths, preds) -> tuple[list[float], list[float]]:
    return ([to_float(t, f"truth {i}") for i, t in enumerate(truths)],
            [to_float(p, f"prediction {i}") for i, p in enumerate(preds)])


def _regression_stats(truths, preds, extra, headline):
    import numpy as np

    y, yhat = (np.array(v) for v in _numbers(truths, preds))
    if headline == "mae":
        return mean_stats(np.abs(y - yhat))
    if headline == "rmse":
        return mean_stats((y - yhat) ** 2)[0], lambda sums: np.sqrt(ratio(sums))
    return None


def _regression_severity(truths, preds, extra):
    y, yhat = _numbers(truths, preds)
    return [abs(a - b) or None for a, b in zip(y, yhat)]


@family(stats=_regression_stats, severity=_regression_severity)
def regression(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """MAE, RMSE, R² (scikit-learn), median and max absolute error.

    >>> m = regression([1, 2, 3, 4], [1, 2, 3, 6])
    >>> m["headline"], m["mae"], m["rmse"], round(m["r2"], 6)
    ('mae', 0.5, 1.0, 0.2)
    """
    import numpy as np
    from sklearn.metrics import r2_score

    n = check_pairs(truths, predictions)
    y, yhat = (np.array(v) for v in _numbers(truths, predictions))
    err = np.abs(y - yhat)
    result = {"n": n, "mae": float(err.mean()), "rmse": float(np.sqrt((err ** 2).mean())),
              "r2": float(r2_score(y, yhat)) if n >= 2 and np.ptp(y) > 0 else None,
              "median_absolute_error": float(np.median(err)), "max_error": float(err.max())}
    return choose_headline(result, "mae", extra)


# -- forecast -----------------------------------------------------------------------------------


def _series(truths, preds, extra) -> list[dict[str, Any]]:
    """Per series: actuals, forecasts and the in-sample seasonal-naive scale (None without history)."""
    extra = extra or {}
    season = int(extra.get("season", 1))
    if season < 1:
        raise BadInput(f"season must be at least 1, got {season}")
    histories, seasons = extra.get("histories"), _item_seasons(extra)
    if histories is None and extra.get("inputs") is not None:
        field = extra.get("history_field") or extra.get("primary_field") or "history"
        histories = [rec.get(field) if isinstance(rec, dict) else getattr(rec, field, None) for rec in extra["inputs"]]
    out = []
    for i, (t, p) in enumerate(zip(truths, preds)):
        m = int(seasons[i]) if seasons is not None and i < len(seasons) and seasons[i] else season
        y, yhat = to_floats(t, f"truth {i}"), to_floats(p, f"prediction {i}")
        if len(y) != len(yhat):
            raise BadInput(f"item {i}: {len(y)} actual values but {len(yhat)} forecasts")
        scale = None
        h = histories[i] if histories is not None and i < len(histories) else None
        if h is not None and not isinstance(h, (bytes, bytearray)):
            h = to_floats(h, f"history {i}")
            diffs = [abs(h[j] - h[j - m]) for j in range(m, len(h))]
            scale = sum(diffs) / len(diffs) if diffs and sum(diffs) > 0 else None
        out.append({"y": y, "yhat": yhat, "scale": scale})
    return out


def _item_seasons(extra: dict) -> list | None:
    """Each input's own ``season_length`` (forecasting records carry one), unless ``season`` is given for all."""
    if extra.get("seasons") is not None or "season" in extra:
        return extra.get("seasons")
    inputs = extra.get("inputs")
    if inputs is None:
        return None
    seasons = [rec.get("season_length") if isinstance(rec, dict) else getattr(rec, "season_length", None) for rec in inputs]
    return seasons if any(seasons) else None


def _smape_terms(s: dict) -> list[float]:
    return [0.0 if a == b == 0 else 2 * abs(a - b) / (abs(a) + abs(b)) for a, b in zip(s["y"], s["yhat"])]


def _mase(s: dict) -> float | None:
    if s["scale"] is None:
        return None
    return sum(abs(a - b) for a, b in zip(s["y"], s["yhat"])) / len(s["y"]) / s["scale"]


def _forecast_stats(truths, preds, extra, headline):
    import numpy as np

    series = _series(truths, preds, extra)
    if headline == "mase":
        return mean_stats([math.nan if _mase(s) is None else _mase(s) for s in series])
    if headline == "smape":
        return np.array([[100 * sum(_smape_terms(s)), len(s["y"])] for s in series], dtype=float), ratio
    return None


def _forecast_severity(truths, preds, extra):
    out = []
    for s in _series(truths, preds, extra):
        value = _mase(s)
        value = 100 * sum(_smape_terms(s)) / len(s["y"]) if value is None else value
        out.append(value or None)
    return out


@family(stats=_forecast_stats, severity=_forecast_severity)
def forecast(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """MAE, RMSE, MAPE %, sMAPE % over all forecast points, and MASE (mean over series).

    Each truth/prediction is a list of future values. MASE divides each series' MAE by the mean
    absolute seasonal difference of its history (``extra["histories"]``, or each input's
    ``history_field``/primary field) with period ``extra["season"]`` (1 = naive forecast), or else
    each input's own ``season_length`` (``extra["seasons"]`` gives them directly). The
    headline is MASE when histories are given, else sMAPE.

    >>> m = forecast([[4, 6]], [[5, 5]], {"histories": [[1, 2, 3, 4]], "season": 1})
    >>> m["headline"], m["mae"], m["mase"]
    ('mase', 1.0, 1.0)
    """
    n = check_pairs(truths, predictions)
    series = _series(truths, predictions, extra)
    points = [(a, b) for s in series for a, b in zip(s["y"], s["yhat"])]
    nonzero = [(a, b) for a, b in points if a != 0]
    mases = [m for m in map(_mase, series) if m is not None]
    result = {
        "n": n, "points": len(points),
        "mae": sum(abs(a - b) for a, b in points) / len(points),
        "rmse": math.sqrt(sum((a - b) ** 2 for a, b in points) / len(points)),
        "mape": 100 * sum(abs(a - b) / abs(a) for a, b in nonzero) / len(nonzero) if nonzero else None,
        "smape": 100 * sum(sum(_smape_terms(s)) for s in series) / len(points),
        "mase": sum(mases) / len(mases) if mases else None,
        "season": "per series" if _item_seasons(extra or {}) else int((extra or {}).get("season", 1)),
        "series_without_scale": n - len(mases),
    }
    return choose_headline(result, "mase" if mases else "smape", extra)
