"""Choosing a model per series by rolling-origin backtest: MASE against the seasonal naive scale.

For a history of ``n`` points the backtest cuts ``n_windows`` origins, ``step_points`` apart and
ending at ``n - horizon`` (the last window's actuals are the last ``horizon`` points). At each origin
every candidate is fitted on the points before it and forecasts ``horizon`` steps; its error is
the MASE of those steps, scaled by the mean absolute seasonal difference of the points before the
origin. The model with the lowest mean MASE over the windows wins (ties go to the simpler model,
earlier in ``models.CANDIDATES``).

Only ``history`` is ever read: the caller decides what the backtest may see. To score the choice
honestly (``bench/forecast_backtest.py``), pass the history up to the evaluation origin, so every
backtest window ends before the evaluation window begins.

>>> choice = choose_model([float(i % 4 + i) for i in range(40)], BacktestConfig(horizon=4, season_length=4))  # doctest: +SKIP
>>> choice.model, choice.chosen_by                                                                          # doctest: +SKIP
('AutoETS', 'backtest')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...core.errors import BadInput
from .models import BASELINE, CANDIDATES, GLOBAL_CANDIDATES, Forecast, Regressors, check_candidates, forecast_all

#: tie-break order: simpler first, the global model last
ORDER = CANDIDATES + GLOBAL_CANDIDATES


@dataclass(frozen=True)
class BacktestConfig:
    horizon: int                                  # steps forecast at each origin
    season_length: int = 1                        # period of the seasonality (12 monthly, 4 quarterly, 7 daily)
    n_windows: int = 3                            # origins per series
    step_points: int | None = None                # points between origins; None: the horizon
    candidates: tuple[str, ...] = CANDIDATES
    fallback: str = "AutoETS"                     # used when the history is too short to backtest

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise BadInput(f"horizon must be at least 1 step, got {self.horizon}")
        if self.season_length < 1:
            raise BadInput(f"season_length must be at least 1, got {self.season_length}")
        if self.n_windows < 1 or (self.step_points is not None and self.step_points < 1):
            raise BadInput(f"n_windows and step_points must be at least 1, got {self.n_windows} and {self.step_points}")
        object.__setattr__(self, "candidates", check_candidates(self.candidates, allow_global=True))
        check_candidates((self.fallback,))


@dataclass
class Choice:
    model: str
    chosen_by: str                                # "backtest" or "default (…why…)"
    mase: dict[str, float | None] = field(default_factory=dict)   # mean backtest MASE per candidate
    smape: dict[str, float | None] = field(default_factory=dict)  # mean backtest sMAPE % per candidate
    windows: int = 0

    @property
    def score(self) -> float | None:
        """The backtest MASE of the chosen model (None when no backtest ran)."""
        return self.mase.get(self.model)


def min_train_points(season_length: int) -> int:
    """Points a backtest window needs before its origin: two full seasons, and at least 8."""
    return max(8, 2 * season_length)


def origins(n_points: int, config: BacktestConfig) -> list[int]:
    """Backtest origins (training lengths), oldest first; each leaves ``horizon`` actuals after it."""
    step = config.step_points or config.horizon
    first_allowed = min_train_points(config.season_length)
    cuts = [n_points - config.horizon - k * step for k in range(config.n_windows)]
    return sorted(c for c in cuts if c >= first_allowed)


def mase_scale(train: Sequence[float], season_length: int) -> float:
    """Mean absolute seasonal difference of ``train`` (in-sample seasonal naive MAE); never 0."""
    import numpy as np

    y = np.asarray(train, dtype=np.float64)
    m = season_length if len(y) > season_length else 1
    scale = float(np.mean(np.abs(y[m:] - y[:-m]))) if len(y) > m else 0.0
    # a flat history has no scale of its own: fall back to its level, so errors stay comparable
    return scale if scale > 0 else max(float(np.mean(np.abs(y))), 1.0)


def mase(actual, forecast, train, season_length: int) -> float:
    import numpy as np

    err = np.mean(np.abs(np.asarray(actual, dtype=np.float64) - np.asarray(forecast, dtype=np.float64)))
    return float(err) / mase_scale(train, season_length)


def smape(actual, forecast) -> float:
    """Symmetric MAPE in % (0 where actual and forecast are both 0)."""
    import numpy as np

    a, f = np.asarray(actual, dtype=np.float64), np.asarray(forecast, dtype=np.float64)
    denom = np.abs(a) + np.abs(f)
    terms = np.where(denom > 0, 2 * np.abs(a - f) / np.where(denom > 0, denom, 1.0), 0.0)
    return float(100 * terms.mean())


def choose_model(history: Sequence[float], config: BacktestConfig,
                 extra: dict[str, dict[int, Forecast | None]] | None = None,
                 regressors: Regressors | None = None) -> Choice:
    """The candidate with the lowest mean backtest MASE on ``history`` (or the fallback if too short).

    ``extra``: forecasts made elsewhere, ``{candidate: {origin: forecast}}`` (the global model's,
    trained across series in ``train.py``); a candidate missing there for an origin scores ``inf``.
    """
    cuts = origins(len(history), config)
    if not cuts:
        need = min_train_points(config.season_length) + config.horizon
        return Choice(config.fallback, f"default (history of {len(history)} points is too short to backtest; "
                                       f"a backtest needs {need})")
    errors: dict[str, list[float]] = {name: [] for name in config.candidates}
    pct: dict[str, list[float]] = {name: [] for name in config.candidates}
    for cut in cuts:
        train, actual = history[:cut], history[cut:cut + config.horizon]
        window_x = regressors.cut(cut, config.horizon) if regressors is not None else None
        forecasts = forecast_all(config.candidates, train, config.season_length, config.horizon, regressors=window_x)
        forecasts |= {n: (extra or {}).get(n, {}).get(cut) for n in config.candidates if n in GLOBAL_CANDIDATES}
        for name, out in forecasts.items():
            errors[name].append(math.inf if out is None else mase(actual, out.mean, train, config.season_length))
            pct[name].append(math.inf if out is None else smape(actual, out.mean))
    mean_mase = {n: sum(v) / len(v) for n, v in errors.items()}
    best = min(config.candidates, key=lambda n: (mean_mase[n], ORDER.index(n)))
    if not math.isfinite(mean_mase[best]):
        best = BASELINE

    def finite(values: dict[str, list[float]]) -> dict[str, float | None]:
        return {n: (round(sum(v) / len(v), 6) if all(map(math.isfinite, v)) else None) for n, v in values.items()}

    return Choice(best, "backtest", finite(errors), finite(pct), len(cuts))
