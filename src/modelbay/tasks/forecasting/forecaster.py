"""One forecast request, end to end: fill in what the request leaves out, choose a model, forecast.

What a request does not say comes from, in order: the request, the trained model's entry for its
``unique_id``, the dates (``timestamps`` → frequency → season length), the model's options.
The model is the trained choice for a known ``unique_id``; otherwise a rolling-origin backtest on
the request's own history chooses it (``backtest.choose_model``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.errors import BadInput
from .backtest import BacktestConfig, Choice, choose_model
from .data import future_timestamps, infer_freq, season_from_freq
from .model import ForecastingModel
from .models import CANDIDATES, GLOBAL_CANDIDATES, Regressors, forecast_with, naive_forecast


@dataclass(frozen=True)
class ForecasterOptions:
    """The untrained model's options (catalog ``options``); a trained model keeps its own backtest settings."""

    candidates: tuple[str, ...] = CANDIDATES
    n_windows: int = 3
    step_points: int | None = None
    fallback: str = "AutoETS"
    season_length: int = 1          # when neither the request nor its dates say


@dataclass
class Result:
    history: list[float]
    horizon: int
    season_length: int
    choice: Choice
    mean: list[float]
    intervals: list[dict[str, Any]] = field(default_factory=list)
    timestamps: list[str] | None = None


def forecast_request(item: Any, options: ForecasterOptions, trained: ForecastingModel | None) -> Result:
    """Forecast one validated ``ForecastInput``."""
    entry = trained.entry(item.unique_id) if trained is not None else None
    history = item.history if item.history is not None else _stored_history(item, entry, trained)
    if item.timestamps is not None:
        last, freq = item.timestamps[-1], item.freq or infer_freq(item.timestamps)
    elif item.history is None and entry is not None:
        last, freq = entry.get("last_timestamp"), item.freq or entry.get("freq")
    else:
        last, freq = None, item.freq
    season = (item.season_length or (entry or {}).get("season_length") or season_from_freq(freq)
              or options.season_length)
    future_steps = len(next(iter(item.future_exog.values()))) if item.future_exog else None
    horizon = item.horizon or future_steps or (trained.horizon if trained is not None else max(int(season), 1))
    regressors = _regressors(item, entry, trained, horizon)
    if entry is not None:
        choice = Choice(entry["model"], "trained", entry.get("mase", {}), entry.get("smape", {}), entry.get("windows", 0))
    else:
        config = _backtest_config(options, trained, horizon, season)
        choice = choose_model(history, config, regressors=regressors)
    levels = sorted(set(item.levels))
    if choice.model in GLOBAL_CANDIDATES:
        out = (trained.global_forecast(choice.model, list(history), int(season), horizon, levels, regressors)
               if trained is not None else None)
    else:
        out = forecast_with(choice.model, history, season, horizon, levels, regressors)
    if out is None:  # the chosen model cannot fit this history (rare: a trained choice on a much shorter one)
        choice.chosen_by += f"; {choice.model} could not fit this history, so the naive forecast was used"
        choice.model = "Naive"
        out = naive_forecast(history, horizon, levels)
    intervals = [{"level": lv, "lower": _rounded(out.lower[lv]), "upper": _rounded(out.upper[lv])} for lv in levels]
    dates = future_timestamps(last, freq, horizon) if last is not None and freq else None
    return Result(list(history), horizon, int(season), choice, _rounded(out.mean), intervals, dates)


def _regressors(item: Any, entry: dict[str, Any] | None, trained: ForecastingModel | None,
                horizon: int) -> Regressors | None:
    """The request's regressors: past from the request (or the trained series), future from the request."""
    import numpy as np

    wanted = list(trained.exog_cols) if trained is not None and trained.exog_cols else list(item.exog or {})
    if not wanted:
        return None
    future = item.future_exog or {}
    past = item.exog if item.history is not None else (entry or {}).get("exog") or item.exog
    missing = [c for c in wanted if c not in future or c not in (past or {})]
    if missing:
        which = "future_exog" if any(c not in future for c in missing) else "exog (their past, beside history)"
        raise BadInput(f"this forecast uses the regressors {wanted}; {which} lacks {missing}",
                       hint=f'send "future_exog": {{{", ".join(repr(c) for c in wanted)}: [{horizon} values each]}}')
    if any(len(future[c]) != horizon for c in wanted):
        raise BadInput(f"future_exog needs {horizon} values per regressor (the horizon)", hint="one value per forecast step")
    return Regressors(tuple(wanted), np.column_stack([np.asarray(past[c], dtype=np.float64) for c in wanted]),
                      np.column_stack([np.asarray(future[c], dtype=np.float64) for c in wanted]))


def _stored_history(item: Any, entry: dict[str, Any] | None, trained: ForecastingModel | None) -> list[float]:
    if entry is not None:
        return [float(v) for v in entry["history"]]
    if trained is None:
        raise BadInput("history: required (the series' past values, oldest first)",
                       hint="send {\"history\": [112, 118, 132, ...], \"horizon\": 12}")
    raise BadInput(f"unique_id {item.unique_id!r} is not a series of this model and no history was given",
                   hint=f"send its history, or use one of: {trained.known_ids()}")


def _backtest_config(options: ForecasterOptions, trained: ForecastingModel | None, horizon: int,
                     season: int) -> BacktestConfig:
    if trained is not None:
        saved = trained.backtest
        return BacktestConfig(horizon=horizon, season_length=season, n_windows=int(saved["n_windows"]),
                              step_points=saved.get("step_points"), candidates=tuple(saved["candidates"]),
                              fallback=saved.get("fallback", options.fallback))
    return BacktestConfig(horizon=horizon, season_length=season, n_windows=options.n_windows,
                          step_points=options.step_points, candidates=options.candidates, fallback=options.fallback)


def _rounded(values) -> list[float]:
    return [round(float(v), 6) for v in values]
