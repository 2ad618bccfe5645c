"""A global gradient-boosting forecaster: one LightGBM model learned across every series of a table.

mlforecast-style: each series is divided by its own scale (the mean absolute value of its last two
seasons), and the model learns the next scaled value from lags (1 … one season, and two seasons
back), the mean of the last season, the position in the season and the series' scale. It forecasts
recursively, one step at a time. Many short series teach one model what each alone could not;
``train.py`` offers it as a candidate ("LightGBM") in every series' backtest, so a series keeps it
only where it beat the statistical models on that series' own windows.

Written here rather than with mlforecast: the features are a dozen lines of numpy, and mlforecast
would add optuna and a pickled model format; LightGBM (already a dependency) does the learning, and
its model is saved as LightGBM's own text file.

>>> model = fit_global([[float(i % 4) for i in range(40)]] * 3, season_length=4)        # doctest: +SKIP
>>> forecast_global(model, [float(i % 4) for i in range(40)], 4, horizon=4).round(2)    # doctest: +SKIP
array([0., 1., 2., 3.])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: LightGBM's settings: small trees and a slow rate suit the few thousand rows a table of series gives
PARAMS = {"objective": "l2", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 10,
          "feature_fraction": 0.9, "bagging_fraction": 0.9, "bagging_freq": 1, "lambda_l2": 1.0,
          "verbose": -1, "num_threads": 2, "seed": 0, "deterministic": True}
ROUNDS = 300
NAME = "LightGBM"


@dataclass
class GlobalModel:
    booster: Any                    # lightgbm.Booster
    season_length: int

    @property
    def max_lag(self) -> int:
        return lags_for(self.season_length)[-1]


def lags_for(season_length: int) -> list[int]:
    """Lags 1 … one season (at most 24), and two seasons back; at least 1 … 4."""
    season = max(int(season_length), 1)
    short = list(range(1, min(max(season, 4), 24) + 1))
    return sorted(set(short) | ({2 * season} if season > 1 else set()))


def series_scale(y) -> float:
    """The mean absolute value of the last two seasons' worth of points (at least the last 8); never 0."""
    import numpy as np

    tail = np.abs(np.asarray(y, dtype=np.float64)[-max(8, 24):])
    scale = float(tail.mean()) if len(tail) else 0.0
    return scale if scale > 0 else 1.0


def _features(scaled, t: int, lags: list[int], season: int, scale: float, x=None) -> list[float]:
    """Features of the value at index ``t`` from ``scaled[:t]`` (every lag must be available) and the regressors at ``t``."""
    window = scaled[max(0, t - max(season, 1)):t]
    known = [float(v) for v in x[t]] if x is not None else []
    return [*(scaled[t - lag] for lag in lags), float(window.mean()), float(t % max(season, 1)), float(scale), *known]


def _rows(history: Sequence[float], lags: list[int], season: int, x=None):
    import numpy as np

    y = np.asarray(history, dtype=np.float64)
    scale = series_scale(y)
    scaled = y / scale
    feats = [_features(scaled, t, lags, season, scale, x) for t in range(lags[-1], len(y))]
    return feats, list(scaled[lags[-1]:])


def fit_global(histories: Sequence[Sequence[float]], season_length: int, *, rounds: int = ROUNDS,
               regressors: Sequence[Any] | None = None) -> GlobalModel | None:
    """One model over every history long enough for its lags; None if fewer than 50 training rows.

    ``regressors``: per history, an array of its regressors' values (at least one row per value).
    """
    import lightgbm as lgb
    import numpy as np

    lags = lags_for(season_length)
    features, targets = [], []
    for i, history in enumerate(histories):
        if len(history) > lags[-1]:
            f, t = _rows(history, lags, season_length, regressors[i] if regressors is not None else None)
            features += f
            targets += t
    if len(targets) < 50:
        return None
    data = lgb.Dataset(np.asarray(features, dtype=np.float64), np.asarray(targets, dtype=np.float64))
    booster = lgb.train(PARAMS, data, num_boost_round=rounds)
    return GlobalModel(booster, int(season_length))


def forecast_global(model: GlobalModel, history: Sequence[float], horizon: int, regressors=None):
    """``horizon`` steps after ``history``, each fed back as the next step's lag; None if the history is too short.

    ``regressors``: an array of the regressors' values over the history and the ``horizon`` steps after it.
    """
    import numpy as np

    lags, season = lags_for(model.season_length), model.season_length
    if len(history) <= lags[-1]:
        return None
    y = np.asarray(history, dtype=np.float64)
    scale = series_scale(y)
    scaled = list(y / scale)
    for _ in range(int(horizon)):
        row = _features(np.asarray(scaled), len(scaled), lags, season, scale, regressors)
        scaled.append(float(model.booster.predict(np.asarray([row]))[0]))
    out = np.asarray(scaled[-int(horizon):]) * scale
    return out if np.isfinite(out).all() else None


def save_global(model: GlobalModel, path) -> None:
    model.booster.save_model(str(path))


def load_global(path, season_length: int) -> GlobalModel:
    import lightgbm as lgb

    return GlobalModel(lgb.Booster(model_file=str(path)), int(season_length))
