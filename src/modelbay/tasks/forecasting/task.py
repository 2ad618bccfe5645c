"""Forecasting: the next ``horizon`` values of a series, with prediction intervals.

Each series gets the statsforecast model (SeasonalNaive, AutoTheta, AutoETS, AutoARIMA, or their
ensemble) that did best in a rolling-origin backtest on its own history, scored by MASE. The
default model chooses per request; a trained model (``modelbay train forecasting --data
series.csv``, a long table of unique_id, ds, y) stores each series' choice and history, so
``{"unique_id": "store_1"}`` is enough to forecast it.

>>> from modelbay import pipeline                                                       # doctest: +SKIP
>>> out = pipeline("forecasting")([{"history": [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118] * 3,
...                                 "horizon": 6, "season_length": 12}])[0]             # doctest: +SKIP
>>> out.model, len(out.forecast), out.intervals[0].level                                # doctest: +SKIP
('AutoETS', 6, 80)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator, model_validator

from ...core.errors import ModelUnavailable
from ...core.protocols import Evaluable, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput, json_item

MIN_HISTORY_POINTS = 4
MAX_HISTORY_POINTS = 100_000
MAX_HORIZON_STEPS = 10_000


class ForecastInput(TaskInput):
    history: list[float] | None = Field(None, max_length=MAX_HISTORY_POINTS,
                                        description="past values, oldest first (may be omitted for a series a trained model knows)")
    horizon: int | None = Field(None, ge=1, le=MAX_HORIZON_STEPS,
                                description="steps to forecast (default: the trained model's horizon, else one season)")
    season_length: int | None = Field(None, ge=1, le=10_000,
                                      description="period of the seasonality: 12 monthly, 4 quarterly, 7 daily (default: from the dates, else 1)")
    timestamps: list[str] | None = Field(None, max_length=MAX_HISTORY_POINTS,
                                         description="dates of the history's values; the forecast then has dates too")
    freq: str | None = Field(None, max_length=20, description="pandas frequency of the dates (MS, QS, W, D, h); default: inferred")
    unique_id: str | None = Field(None, max_length=200, description="the series' id in a trained model")
    levels: list[Annotated[int, Field(ge=1, le=99)]] = Field(default_factory=lambda: [80, 95], max_length=5,
                                                             description="prediction interval coverages, in %")
    exog: dict[str, list[float]] | None = Field(None, max_length=50, description=(
        "regressors' past values, one list per regressor beside history (a trained series has them stored)"))
    future_exog: dict[str, list[float]] | None = Field(None, max_length=50, description=(
        "the regressors' values over the forecast's steps, known ahead (planned prices, promotions, holidays)"))

    @model_validator(mode="before")
    @classmethod
    def _json_item(cls, data: Any) -> Any:
        return json_item(data, "history")

    @field_validator("history", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # the CLI passes a series as text: modelbay run forecasting "112,118,132,129"
        if isinstance(value, str):
            parts = value.strip().strip("[]").replace(",", " ").split()
            try:
                return [float(p) for p in parts]
            except ValueError:
                raise ValueError(f"expected numbers separated by commas or spaces, got {value!r:.60}") from None
        return value

    @field_validator("history")
    @classmethod
    def _finite(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return value
        bad = [i for i, v in enumerate(value) if not math.isfinite(v)]
        if bad:
            raise ValueError(f"value {bad[0]} is {value[bad[0]]} ({len(bad)} missing or infinite in all); "
                             "fill gaps (e.g. 0 for no sales, or interpolate) before forecasting")
        if len(value) < MIN_HISTORY_POINTS:
            raise ValueError(f"{len(value)} values; a forecast needs at least {MIN_HISTORY_POINTS} "
                             "(and two seasons plus the horizon to choose a model by backtest)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ForecastInput:
        if self.history is None and self.unique_id is None:
            raise ValueError("give history (the series' past values) or the unique_id of a series a trained model knows")
        if self.timestamps is not None and (self.history is None or len(self.timestamps) != len(self.history)):
            found = "no history" if self.history is None else f"{len(self.history)} history values"
            raise ValueError(f"{len(self.timestamps)} timestamps for {found}; give one date per value")
        check_regressors(self.exog, self.future_exog, self.history, self.horizon)
        return self


def check_regressors(exog: dict[str, list[float]] | None, future: dict[str, list[float]] | None,
                     history: list[float] | None, horizon: int | None) -> None:
    """Regressors must be finite, name the same columns, cover the history and the horizon (ValueError: 422)."""
    for field_name, values in (("exog", exog), ("future_exog", future)):
        for col, column in (values or {}).items():
            if not all(math.isfinite(v) for v in column):
                raise ValueError(f"{field_name}[{col!r}] holds a missing or infinite value; fill it first")
    if exog is not None and future is None:
        raise ValueError("exog without future_exog: give the regressors' values over the forecast's steps too")
    if exog is not None and set(exog) != set(future or {}):
        raise ValueError(f"exog has {sorted(exog)} but future_exog has {sorted(future or {})}; give the same regressors")
    for col, column in (exog or {}).items():
        if history is not None and len(column) != len(history):
            raise ValueError(f"exog[{col!r}] has {len(column)} values for {len(history)} history values; one per value")
    lengths = {len(v) for v in (future or {}).values()}
    if len(lengths) > 1 or (horizon is not None and lengths and lengths != {horizon}):
        raise ValueError(f"future_exog lists have {sorted(lengths)} values; give one per forecast step (horizon "
                         f"{horizon if horizon is not None else 'from the lists'})")


class Interval(BaseModel):
    level: int = Field(..., description="coverage in %")
    lower: list[float]
    upper: list[float]


class ForecastOutput(TaskOutput):
    forecast: list[float] = Field(..., description="point forecasts, one per step")
    intervals: list[Interval] = Field(..., description="prediction intervals, one per level")
    timestamps: list[str] | None = Field(None, description="the forecast's dates, when the history had dates")
    model: str = Field(..., description="the statsforecast model that produced the forecast")
    chosen_by: str = Field(..., description="backtest (on this history), trained (the model's stored choice) or default (why)")
    backtest_mase: float | None = Field(None, description="the chosen model's mean backtest MASE (< 1: beats seasonal naive)")
    backtest: dict[str, float | None] = Field(default_factory=dict, description="mean backtest MASE of every candidate")
    season_length: int
    unique_id: str | None = None

    def summary(self) -> str:
        head = ", ".join(f"{v:.4g}" for v in self.forecast[:6]) + (", …" if len(self.forecast) > 6 else "")
        score = f", backtest MASE {self.backtest_mase:.3f}" if self.backtest_mase is not None else ""
        return f"{self.model} ({self.chosen_by}{score}): {head}"


@register
class Forecasting(Task[ForecastInput, ForecastOutput], Trainable, Evaluable):
    """Forecast series with the statsforecast model each one's backtest prefers."""

    name = "forecasting"
    aliases = ("forecast", "time-series-forecasting")
    description = "Forecast series (demand, sales, traffic) with intervals; the model is chosen per series by backtest"
    Input = ForecastInput
    Output = ForecastOutput
    default_model = "statsforecast-auto"
    primary_field = "history"
    batchable = False
    metric_family = "forecast"
    target_field = "actuals"
    example_inputs = (
        {"history": [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118, 115, 126, 141, 135, 125, 149,
                     170, 170, 158, 133, 114, 140, 145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166],
         "horizon": 6, "season_length": 12},
        {"history": [10.0, 12.5, 11.0, 13.0, 12.0, 14.5, 13.5, 15.0, 14.0, 16.5, 15.5, 17.0], "horizon": 3},
        "5, 7, 6, 8, 7, 9, 8, 10",
    )

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        from ...ml.options import config_from_options
        from .forecaster import ForecasterOptions
        from .model import FILENAME, ForecastingModel

        self.trained = ForecastingModel(model.path) if model.path and (Path(model.path) / FILENAME).is_file() else None
        try:
            opts = {k: v for k, v in model.spec.options.items() if k != "backend"}
            self.options = config_from_options(ForecasterOptions, opts, what=f"model {model.spec.name!r}")
        except ValueError as exc:
            raise ModelUnavailable(f"model {model.spec.name!r}: bad options ({exc})",
                                   hint="see src/modelbay/catalog/statsforecast-auto.yaml") from None

    def _forward(self, items: list[ForecastInput]):
        from .forecaster import forecast_request

        return [forecast_request(item, self.options, self.trained) for item in items]

    def postprocess(self, raw, items: list[ForecastInput]) -> list[ForecastOutput]:
        return [ForecastOutput(forecast=r.mean, intervals=[Interval(**iv) for iv in r.intervals], timestamps=r.timestamps,
                               model=r.choice.model, chosen_by=r.choice.chosen_by, backtest_mase=r.choice.score,
                               backtest=r.choice.mase, season_length=r.season_length, unique_id=item.unique_id)
                for r, item in zip(raw, items)]

    def prediction(self, output: ForecastOutput) -> list[float]:
        return output.forecast

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """A long table (unique_id, ds, y); each series' last ``horizon`` values become its ``actuals``."""
        from ...data.databases import data_source
        from .train import evaluation_records

        return evaluation_records(data_source(path), options)

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """Choose a model per series by backtest (``modelbay.tasks.forecasting.train``)."""
        from ...data.databases import data_source
        from .train import train_forecasting

        return train_forecasting(data_source(data), Path(out_dir), options, progress=progress, name=name, task=cls.name)
