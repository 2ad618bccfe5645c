"""A global candidate in training (LightGBM, N-BEATS): its backtest forecasts, intervals and final models.

For each season length in the table (series of one frequency share one model) and each backtest
window, one model is fitted on every series cut at that window's origin, and forecasts each of
them from there: the same origins the per-series backtest uses (``backtest.origins``), so its MASE
is comparable with the statistical candidates'. The scaled absolute errors of those forecasts, per
step ahead and pooled across series, give its prediction intervals (split conformal). The final
models are fitted on the whole histories.

>>> result = global_candidate({"a": (history_a, 12, None), "b": (history_b, 12, None)}, learner("NBEATS"),
...                           horizon=6, n_windows=3, step_points=None, levels=[80, 95])       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .backtest import BacktestConfig, origins
from .global_model import series_scale
from .learners import Learner
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
    models: dict[int, Any] = field(default_factory=dict)


def global_candidate(series: dict[str, tuple[list[float], int, Any]], learner: Learner, *, horizon: int, n_windows: int,
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
            _window(learner, histories, cuts, (window, season, horizon), result, errors)
            done += 1
            tick(done)
        final = learner.fit([h for h, _ in histories.values()], season, horizon, _regressors(histories.values()))
        if final is not None:
            result.models[season] = final
            result.bands[season] = _bands(errors, sorted(set(STORED_LEVELS) | set(levels)))
    return result


def _regressors(pairs) -> list[Any] | None:
    xs = [x for _, x in pairs]
    return None if all(x is None for x in xs) else xs


def _window(learner: Learner, histories: dict[str, tuple[list[float], Any]], cuts: dict[str, list[int]],
            window_season_horizon: tuple[int, int, int], result: GlobalResult, errors: list[list[float]]) -> None:
    """Fit on every series cut at its ``window``-th origin from the end; forecast and score each."""
    import numpy as np

    window, season, horizon = window_season_horizon
    at = {uid: c[-1 - window] for uid, c in cuts.items() if len(c) > window}
    model = learner.fit([histories[uid][0][:cut] for uid, cut in at.items()], season, horizon,
                        _regressors(histories[uid] for uid in at)) if at else None
    for uid, cut in at.items():
        history, x = histories[uid]
        mean = learner.forecast(model, history[:cut], horizon, x) if model is not None else None
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


def global_forecast(learner: Learner, model: Any, bands: dict[int, list[float]], history: list[float], horizon: int,
                    levels: list[int], regressors=None) -> Forecast | None:
    """The global model's forecast with conformal intervals (bands widened to ``horizon`` steps if longer).

    ``regressors``: an array over the history and the ``horizon`` steps after it, when the model has them.
    """
    import numpy as np

    mean = learner.forecast(model, history, horizon, regressors)
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


def stored(learner: Learner, result: GlobalResult) -> dict[str, Any]:
    """What ``forecasting.json`` keeps of one global candidate (its models are files of their own)."""
    stem = learner.name.lower()
    return {"seasons": {str(s): {"file": f"{stem}-season-{s}.{learner.suffix}", "bands": result.bands[s]}
                        for s in result.models}}
