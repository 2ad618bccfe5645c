"""The global LightGBM candidate in training: its backtest forecasts, its intervals and its final models.

For each season length in the table (series of one frequency share one model) and each backtest
window, one model is fitted on every series cut at that window's origin, and forecasts each of
them from there: the same origins the per-series backtest uses (``backtest.origins``), so its MASE
is comparable with the statistical candidates'. The scaled absolute errors of those forecasts, per
step ahead and pooled across series, give its prediction intervals (split conformal). The final
models are fitted on the whole histories.

>>> extra, bands, models = global_candidate({"a": (history_a, 12), "b": (history_b, 12)}, horizon=6,
...                                         n_windows=3, step_points=None)                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .backtest import BacktestConfig, origins
from .global_model import NAME, GlobalModel, fit_global, forecast_global, series_scale
from .models import Forecast

#: interval levels whose bands are stored, besides the training levels; a request's level uses the next one up
STORED_LEVELS = (50, 60, 70, 80, 90, 95, 98, 99)


@dataclass
class GlobalResult:
    #: {unique_id: {origin: Forecast or None}}: the backtest forecasts ``choose_model`` scores
    backtest: dict[str, dict[int, Forecast | None]] = field(default_factory=dict)
    #: {season_length: {level: [scaled half-width per step]}}
    bands: dict[int, dict[int, list[float]]] = field(default_factory=dict)
    #: {season_length: the model fitted on whole histories}
    models: dict[int, GlobalModel] = field(default_factory=dict)


def global_candidate(series: dict[str, tuple[list[float], int, Any]], *, horizon: int, n_windows: int,
                     step_points: int | None, levels: list[int],
                     tick: Callable[[int], None] = lambda done: None) -> GlobalResult:
    """Backtest forecasts, interval bands and final models of the global candidate, per season length.

    ``series``: ``{unique_id: (history, season length, regressors array (n × k) or None)}``.
    """
    result = GlobalResult()
    by_season: dict[int, dict[str, tuple[list[float], Any]]] = {}
    for uid, (history, season, x) in series.items():
        by_season.setdefault(int(season), {})[uid] = (history, x)
    done = 0
    for season, histories in by_season.items():
        config = BacktestConfig(horizon=horizon, season_length=season, n_windows=n_windows, step_points=step_points)
        cuts = {uid: origins(len(h), config) for uid, (h, _) in histories.items()}
        errors: list[list[float]] = [[] for _ in range(horizon)]
        for window in range(n_windows):
            _window(histories, cuts, window, season, horizon, result, errors)
            done += 1
            tick(done)
        final = fit_global([h for h, _ in histories.values()], season, regressors=_regressors(histories.values()))
        if final is not None:
            result.models[season] = final
            result.bands[season] = _bands(errors, sorted(set(STORED_LEVELS) | set(levels)))
    return result


def _regressors(pairs) -> list[Any] | None:
    xs = [x for _, x in pairs]
    return None if all(x is None for x in xs) else xs


def _window(histories: dict[str, tuple[list[float], Any]], cuts: dict[str, list[int]], window: int, season: int,
            horizon: int, result: GlobalResult, errors: list[list[float]]) -> None:
    """Fit on every series cut at its ``window``-th origin from the end; forecast and score each."""
    import numpy as np

    at = {uid: c[-1 - window] for uid, c in cuts.items() if len(c) > window}
    model = fit_global([histories[uid][0][:cut] for uid, cut in at.items()], season,
                       regressors=_regressors(histories[uid] for uid in at)) if at else None
    for uid, cut in at.items():
        history, x = histories[uid]
        mean = forecast_global(model, history[:cut], horizon, x) if model is not None else None
        result.backtest.setdefault(uid, {})[cut] = Forecast(mean) if mean is not None else None
        if mean is not None:
            scale = series_scale(history[:cut])
            for step, err in enumerate(np.abs(np.asarray(history[cut:cut + horizon]) - mean) / scale):
                errors[step].append(float(err))


def _bands(errors: list[list[float]], levels: list[int]) -> dict[int, list[float]]:
    """Per level, the level-% quantile of the scaled absolute errors at each step (the last step's where a step has none)."""
    import numpy as np

    out: dict[int, list[float]] = {}
    for level in levels:
        widths, last = [], 0.0
        for step_errors in errors:
            if step_errors:
                last = float(np.quantile(step_errors, level / 100, method="higher"))
            widths.append(round(last, 6))
        out[int(level)] = widths
    return out


def global_forecast(model: GlobalModel, bands: dict[int, list[float]], history: list[float], horizon: int,
                    levels: list[int], regressors=None) -> Forecast | None:
    """The global model's forecast with conformal intervals (bands widened to ``horizon`` steps if longer).

    ``regressors``: an array over the history and the ``horizon`` steps after it, when the model has them.
    """
    import numpy as np

    mean = forecast_global(model, history, horizon, regressors)
    if mean is None:
        return None
    scale = series_scale(history)
    out = Forecast(mean)
    for level in levels:
        above = [int(k) for k in bands if int(k) >= level]
        if not above:
            return None
        widths = bands[min(above)]
        width = np.asarray([widths[min(i, len(widths) - 1)] for i in range(horizon)]) * scale
        out.lower[level], out.upper[level] = mean - width, mean + width
    return out


def stored(result: GlobalResult) -> dict[str, Any]:
    """What ``forecasting.json`` keeps of the global models (the boosters are files of their own)."""
    return {"name": NAME, "seasons": {str(s): {"file": f"lightgbm-season-{s}.txt", "bands": result.bands[s]}
                                      for s in result.models}}
