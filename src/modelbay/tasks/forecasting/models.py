"""The candidate models (statsforecast) and one robust way to fit one and forecast.

Every candidate is a statsforecast model built for one series' season length; ``forecast_with``
fits it on a history and returns the mean and the prediction intervals as float arrays. A model
that cannot fit a history (statsforecast raises on "tiny datasets") or gives non-finite numbers
is reported as ``None``, so a backtest skips it instead of failing the whole batch.

>>> out = forecast_with("SeasonalNaive", [1.0, 2.0, 3.0, 1.0, 2.0, 3.0], 3, 2, (80,))   # doctest: +SKIP
>>> out.mean.tolist(), out.lower[80].tolist()                                          # doctest: +SKIP
([1.0, 2.0], [...])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import BadInput

#: the candidates, in the order a tie in the backtest is broken (simpler first)
CANDIDATES: tuple[str, ...] = ("SeasonalNaive", "AutoTheta", "AutoETS", "AutoARIMA", "Ensemble")
#: what "Ensemble" averages (its intervals average the members' bounds: an approximation, not a fitted model)
ENSEMBLE_MEMBERS: tuple[str, ...] = ("AutoETS", "AutoTheta", "AutoARIMA")
#: the reference every MASE divides by; always a candidate, and the fallback of last resort
BASELINE = "SeasonalNaive"
#: candidates learned across all the series of a table (``global_model.py``): training only, never one request's history
GLOBAL_CANDIDATES: tuple[str, ...] = ("LightGBM", "NBEATS")
#: the statistical candidates that use regressors (``Regressors``); the others forecast from the history alone
USES_REGRESSORS: tuple[str, ...] = ("AutoARIMA", "Ensemble")


@dataclass(frozen=True)
class Regressors:
    """Exogenous regressors: ``past`` (n × k) beside the history and ``future`` (horizon × k) beside the forecast."""

    names: tuple[str, ...]
    past: Any                                  # float64 ndarray (len(history), k)
    future: Any                                # float64 ndarray (horizon, k)

    def cut(self, origin: int, horizon: int) -> Regressors:
        """The regressors of a backtest window: the past before ``origin``, the future the ``horizon`` after it."""
        return Regressors(self.names, self.past[:origin], self.past[origin:origin + horizon])


@dataclass
class Forecast:
    """Point forecasts and prediction intervals (``lower[level]``, ``upper[level]``), one value per step."""

    mean: Any                                  # float64 ndarray, length = horizon
    lower: dict[int, Any] = field(default_factory=dict)
    upper: dict[int, Any] = field(default_factory=dict)


def check_candidates(names: Sequence[str], *, allow_global: bool = False) -> tuple[str, ...]:
    """The candidate names, checked; the baseline is always among them (MASE needs it to mean anything)."""
    names = tuple(str(n) for n in names)
    known = CANDIDATES + (GLOBAL_CANDIDATES if allow_global else ())
    unknown = [n for n in names if n not in known]
    if unknown:
        where = "" if allow_global else f" ({', '.join(GLOBAL_CANDIDATES)} needs a table of series: modelbay train)"
        raise BadInput(f"unknown forecasting model(s) {unknown}; known: {', '.join(known)}{where}")
    if not names:
        raise BadInput(f"no candidate models given; choose among {', '.join(CANDIDATES)}")
    return names if BASELINE in names else (BASELINE, *names)


def build(name: str, season_length: int):
    """A fresh statsforecast model ``name`` for period ``season_length`` (1 = no seasonality)."""
    from statsforecast import models

    if name == "SeasonalNaive":
        return models.SeasonalNaive(season_length=season_length)
    if name == "AutoARIMA":
        return models.AutoARIMA(season_length=season_length)
    return getattr(models, name)(season_length=season_length)


def usable_season(season_length: int, n_points: int) -> int:
    """The period a model can use on ``n_points``: seasonal models need two full seasons, else none."""
    return season_length if n_points >= 2 * season_length else 1


def forecast_all(names: Sequence[str], history: Sequence[float], season_length: int, horizon: int,
                 levels: Sequence[int] = (), regressors: Regressors | None = None) -> dict[str, Forecast | None]:
    """``forecast_with`` for each of ``names``; an ensemble reuses its members' forecasts (each fitted once).

    ``regressors`` go to AutoARIMA (a regression with ARIMA errors); the other models ignore them.
    """
    names = [n for n in names if n not in GLOBAL_CANDIDATES]  # their forecasts come from train.py
    wanted = [n for n in names if n != "Ensemble"]
    if "Ensemble" in names:
        wanted += [m for m in ENSEMBLE_MEMBERS if m not in wanted]
    out = {n: _fit_one(n, history, season_length, horizon, levels, regressors if n in USES_REGRESSORS else None)
           for n in wanted}
    if "Ensemble" in names:
        out["Ensemble"] = _average([out[m] for m in ENSEMBLE_MEMBERS], levels)
    return {n: out[n] for n in names}


def forecast_with(name: str, history: Sequence[float], season_length: int, horizon: int,
                  levels: Sequence[int] = (), regressors: Regressors | None = None) -> Forecast | None:
    """Fit ``name`` on ``history`` and forecast ``horizon`` steps with ``levels`` % intervals; None if it cannot."""
    return forecast_all((name,), history, season_length, horizon, levels, regressors)[name]


def _average(members: list[Forecast | None], levels: Sequence[int]) -> Forecast | None:
    if any(m is None for m in members):
        return None
    n = len(members)
    out = Forecast(sum(m.mean for m in members) / n)
    for level in levels:
        out.lower[level] = sum(m.lower[level] for m in members) / n
        out.upper[level] = sum(m.upper[level] for m in members) / n
    return out


def _fit_one(name: str, history: Sequence[float], season_length: int, horizon: int,
             levels: Sequence[int], regressors: Regressors | None = None) -> Forecast | None:
    import warnings

    import numpy as np

    y = np.asarray(history, dtype=np.float64)
    season = usable_season(season_length, len(y))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            x = {"X": regressors.past, "X_future": regressors.future} if regressors is not None else {}
            raw = build(name, season).forecast(y=y, h=int(horizon), level=list(levels) or None, **x)
    except (NotImplementedError, ValueError, ZeroDivisionError, np.linalg.LinAlgError, IndexError, FloatingPointError):
        return None
    out = Forecast(np.asarray(raw["mean"], dtype=np.float64))
    for level in levels:
        out.lower[level] = np.asarray(raw[f"lo-{level}"], dtype=np.float64)
        out.upper[level] = np.asarray(raw[f"hi-{level}"], dtype=np.float64)
    arrays = [out.mean, *out.lower.values(), *out.upper.values()]
    if any(a.shape != (horizon,) or not np.isfinite(a).all() for a in arrays):
        return None
    return out


def naive_forecast(history: Sequence[float], horizon: int, levels: Sequence[int] = ()) -> Forecast:
    """The last value repeated, with intervals from the spread of one-step changes: never fails (``len >= 2``)."""
    import numpy as np
    from scipy.stats import norm

    y = np.asarray(history, dtype=np.float64)
    sigma = float(np.std(np.diff(y))) if len(y) > 2 else 0.0
    steps = np.sqrt(np.arange(1, horizon + 1))
    out = Forecast(np.full(horizon, y[-1]))
    for level in levels:
        half = float(norm.ppf(0.5 + level / 200)) * sigma * steps
        out.lower[level], out.upper[level] = out.mean - half, out.mean + half
    return out
