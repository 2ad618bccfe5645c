"""Train a forecasting model: choose a statsforecast model per series of a long table by backtest.

Each series' choice is made on rolling-origin windows of its own history (``backtest.py``) and
stored with the scores that made it and the history (``model.py``). The card's metrics are the
backtest's: the mean MASE and sMAPE of every candidate applied to every series, and of the
per-series choice. The last is optimistic (chosen on the same windows it is scored on); an
honest figure comes from ``modelbay eval`` on later data or ``bench/forecast_backtest.py``.

>>> card = train_forecasting(Path("sales.csv"), Path("/tmp/sales-model"), {"horizon": 12})   # doctest: +SKIP
>>> card["metrics"]["validation"]["backtest_mase_chosen"]                                      # doctest: +SKIP
0.83
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...core.task import Progress
from ...ml.fingerprint import data_fingerprint
from ...ml.model_dir import utc_timestamp
from ...ml.progress import reporter
from .backtest import BacktestConfig, choose_model
from .data import LongColumns, Series, read_long_table, season_from_freq
from .learners import learner
from .model import FORMAT, write_forecasting_model
from .models import CANDIDATES, GLOBAL_CANDIDATES, Regressors
from .train_global import GlobalResult, global_candidate, stored


@dataclass
class ForecastTrainConfig:
    """Training options (``--param key=value``)."""

    horizon: int | None = None              # steps ahead; default: one season (season_length), at least 1
    season_length: int | None = None        # default: from the dates' frequency (12 monthly, 4 quarterly…), else 1
    n_windows: int = 3                      # backtest origins per series
    step_points: int | None = None          # points between origins; default: the horizon
    # the global models are opt-in (candidates=…,LightGBM,NBEATS): on the tourism tables of bench/forecast_backtest.py,
    # choosing among more candidates on 3 windows cost more in selection noise than they gained (docs/models.md)
    candidates: tuple[str, ...] = CANDIDATES
    fallback: str = "AutoETS"               # for series too short to backtest
    levels: tuple[int, ...] = (80, 95)      # default prediction intervals, in %
    id_col: str = "unique_id"
    ds_col: str = "ds"
    y_col: str = "y"
    exog_cols: tuple[str, ...] = ()         # regressors (price, promotion): columns of numbers, known ahead of time
    format: str | None = None


def _config(options: dict[str, Any]) -> ForecastTrainConfig:
    from ...ml.options import config_from_options

    config = config_from_options(ForecastTrainConfig, options, what="forecasting")
    for key in ("horizon", "season_length", "step_points"):
        value = getattr(config, key)
        if value is not None and int(value) < 1:
            raise BadInput(f"{key} must be at least 1, got {value}")
        setattr(config, key, None if value is None else int(value))
    if not all(1 <= lv <= 99 for lv in map(int, config.levels)):
        raise BadInput(f"levels must be coverages in % between 1 and 99, got {list(config.levels)}")
    return config


def _columns(config: ForecastTrainConfig) -> LongColumns:
    return LongColumns(config.id_col, config.ds_col, config.y_col, config.format, tuple(config.exog_cols))


def _season(series: Series, config: ForecastTrainConfig) -> int:
    return int(config.season_length or season_from_freq(series.freq) or 1)


def train_forecasting(data: Path | str, out_dir: Path, options: dict[str, Any], progress: Progress = False, *,
                      name: str = "model", task: str = "forecasting") -> dict[str, Any]:
    """Choose and store a model for every series of ``data``; returns the model card."""
    t0 = time.perf_counter()
    config = _config(options)
    all_series = read_long_table(data, _columns(config))
    horizon = config.horizon or max(_season(all_series[0], config), 1)
    entries: dict[str, dict[str, Any]] = {}
    with reporter(progress) as rep:
        learned = _global(all_series, config, horizon, rep)
        tick = rep.stage("backtest series", total=len(all_series))
        for done, series in enumerate(all_series, 1):
            season = _season(series, config)
            backtest = BacktestConfig(horizon=horizon, season_length=season, n_windows=config.n_windows,
                                      step_points=config.step_points, candidates=config.candidates,
                                      fallback=config.fallback)
            extra = {name: result.backtest.get(series.unique_id, {}) for name, result in learned.items()}
            choice = choose_model(series.values, backtest, extra, regressors=regressors_of(series))
            entries[series.unique_id] = {
                "model": choice.model, "chosen_by": choice.chosen_by, "season_length": season,
                "mase": choice.mase, "smape": choice.smape, "windows": choice.windows, "history": series.values,
                "last_timestamp": series.timestamps[-1] if series.timestamps else None, "freq": series.freq,
                **({"exog": series.exog} if series.exog else {})}
            tick(done)
    saved = {"horizon": horizon, "levels": [int(v) for v in config.levels], "exog_cols": list(config.exog_cols),
             "backtest": {"n_windows": config.n_windows, "step_points": config.step_points,
                          "candidates": list(backtest.candidates), "fallback": config.fallback},
             "series": entries, "global": {name: stored(learner(name), r) for name, r in learned.items()}}
    card = _card(data, config, entries, horizon, name=name, task=task)
    card["seconds"] = round(time.perf_counter() - t0, 2)
    write_forecasting_model(out_dir, saved, card, {name: r.models for name, r in learned.items()})
    return card


def regressors_of(series: Series) -> Regressors | None:
    """A series' regressors as ``Regressors`` (its past; no future in training), or None when it has none."""
    import numpy as np

    if not series.exog:
        return None
    past = np.column_stack([np.asarray(v, dtype=np.float64) for v in series.exog.values()])
    return Regressors(tuple(series.exog), past, past[:0])


def _past(regressors: Regressors | None):
    return None if regressors is None else regressors.past


def _global(all_series: list[Series], config: ForecastTrainConfig, horizon: int, rep) -> dict[str, GlobalResult]:
    """Each global candidate's backtest and final models: ``{name: result}`` for the ones among the candidates."""
    names = [n for n in GLOBAL_CANDIDATES if n in config.candidates]
    series = {s.unique_id: (s.values, _season(s, config), _past(regressors_of(s))) for s in all_series}
    n_fits = config.n_windows * len({season for _, season, _ in series.values()})
    return {name: global_candidate(series, learner(name), horizon=horizon, n_windows=config.n_windows,
                                   step_points=config.step_points, levels=[int(v) for v in config.levels],
                                   tick=rep.stage(f"global {name} windows", n_fits))
            for name in names}


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 6) if values else None


def _card(data: Path | str, config: ForecastTrainConfig, entries: dict[str, dict[str, Any]], horizon: int, *,
          name: str, task: str) -> dict[str, Any]:
    import statsforecast

    from ...core.version import __version__

    scored = [e for e in entries.values() if e["chosen_by"] == "backtest"]
    validation: dict[str, Any] = {
        "backtest_mase_chosen": _mean([e["mase"].get(e["model"]) for e in scored]),
        "backtest_smape_chosen": _mean([e["smape"].get(e["model"]) for e in scored]),
        **{f"backtest_mase_{m}": _mean([e["mase"].get(m) for e in scored]) for m in config.candidates},
        "n_series_backtested": len(scored),
    }
    counts: dict[str, int] = {}
    for e in entries.values():
        counts[e["model"]] = counts.get(e["model"], 0) + 1
    return {
        "name": name, "task": task, "base": "statsforecast", "format": FORMAT, "created": utc_timestamp(),
        "description": f"per-series model choice by rolling-origin backtest on {len(entries)} series of {Path(data).name if isinstance(data, Path) else 'a database table'}",
        "data": {**data_fingerprint(data), "n_series": len(entries),
                 "n_points": sum(len(e["history"]) for e in entries.values())},
        "options": {"backend": "statsforecast"},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()} | {"horizon": horizon},
        "training": {"chosen_models": counts},
        "metrics": {"validation": validation},
        "warnings": [("backtest_mase_chosen is optimistic: the choice was made on the same windows it is scored on; "
                      "score the model on later data with `modelbay eval`")],
        "statsforecast_version": statsforecast.__version__, "modelbay_version": __version__,
    }


def evaluation_records(path: Path | str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """Records for ``modelbay eval``: each series' last ``horizon`` values are the ``actuals``, the rest its history."""
    known = {"horizon", "season_length", "id_col", "ds_col", "y_col", "format", "exog_cols"}
    picked = {k: v for k, v in options.items() if k in known}
    config = _config(picked)
    records = []
    for series in read_long_table(path, _columns(config)):
        season = _season(series, config)
        horizon = config.horizon or season
        if len(series.values) < horizon + 4:
            raise BadInput(f"{path}: series {series.unique_id!r} has {len(series.values)} values; evaluating a "
                           f"{horizon}-step forecast needs at least {horizon + 4}", hint="pass a smaller horizon")
        record = {"unique_id": series.unique_id, "history": series.values[:-horizon], "horizon": horizon,
                  "season_length": season, "actuals": series.values[-horizon:]}
        if series.timestamps:
            record["timestamps"] = series.timestamps[:-horizon]
        if series.exog:
            record["exog"] = {c: v[:-horizon] for c, v in series.exog.items()}
            record["future_exog"] = {c: v[-horizon:] for c, v in series.exog.items()}
        records.append(record)
    return records
