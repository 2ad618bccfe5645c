"""Anomaly detection: a whole series, a streaming point of a named series, or a record scored by a trained model.

One input takes one of three shapes:

* ``{"series": [...], "timestamps": [...]}`` — every point's robust residual z-score (STL, a
  rolling median, or the raw values: ``series.py``), the flagged points and the change points;
* ``{"series_id": "cpu-web-1", "value": 93.1, "timestamp": "..."}`` — a streaming point: its
  robust z-score against the series' recent window, which it then joins. The windows live in
  SQLite under ``MODELBAY_HOME`` (``streaming.py``), so they survive a restart;
* ``{"features": {"amount": 912.0, "hour": 3}}`` — one record, scored by a detector trained on
  normal rows (``modelbay train anomaly-detection --data normal.csv``: IsolationForest, LOF,
  One-Class SVM or robust z-scores, ``train.py``).

>>> from modelbay import pipeline                                                         # doctest: +SKIP
>>> out = pipeline("anomaly-detection")([{"series": [10, 11, 10, 12, 11, 60, 10, 11, 12, 10, 11, 10]}])[0]  # doctest: +SKIP
>>> out.anomalies                                                                          # doctest: +SKIP
[5]
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ...core.errors import BadInput, ModelUnavailable
from ...core.protocols import Evaluable, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput, json_item

MIN_SERIES_POINTS = 8
MAX_SERIES_POINTS = 100_000
Method = Literal["stl", "rolling", "zscore"]


class AnomalyInput(TaskInput):
    series: list[float] | None = Field(None, max_length=MAX_SERIES_POINTS, description="a whole series, oldest first")
    timestamps: list[str] | None = Field(None, max_length=MAX_SERIES_POINTS, description="dates of the series' values")
    series_id: str | None = Field(None, min_length=1, max_length=200,
                                  description="with value: the streaming series this point belongs to")
    value: float | None = Field(None, description="a streaming point's value (with series_id)")
    timestamp: str | None = Field(None, max_length=64, description="a streaming point's time (kept as the series' last)")
    features: dict[str, float | int | bool | None] | None = Field(
        None, max_length=10_000, description="one record (column -> number) for a trained record model")
    method: Method | None = Field(None, description="series: stl (default), rolling (causal, as streaming) or zscore")
    threshold: float | None = Field(None, gt=0, description="robust z-score (series, points) above which a point is flagged")
    season_length: int | None = Field(None, ge=2, le=10_000, description="series: points per season (default: guessed)")

    @model_validator(mode="before")
    @classmethod
    def _json_item(cls, data: Any) -> Any:
        return json_item(data, "series")

    @field_validator("series", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # the CLI passes a series as text: modelbay run anomaly-detection "10,11,10,60,11"
        if isinstance(value, str):
            try:
                return [float(p) for p in value.strip().strip("[]").replace(",", " ").split()]
            except ValueError:
                raise ValueError(f"expected numbers separated by commas or spaces, got {value!r:.60}") from None
        return value

    @field_validator("series")
    @classmethod
    def _finite(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return value
        bad = [i for i, v in enumerate(value) if not math.isfinite(v)]
        if bad:
            raise ValueError(f"value {bad[0]} is {value[bad[0]]}; fill gaps (interpolate) before scoring")
        if len(value) < MIN_SERIES_POINTS:
            raise ValueError(f"{len(value)} values; scoring a series needs at least {MIN_SERIES_POINTS}")
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> AnomalyInput:
        shapes = [name for name, present in (("series", self.series is not None), ("value", self.value is not None),
                                             ("features", self.features is not None)) if present]
        if len(shapes) != 1:
            raise ValueError("give exactly one of series (a whole series), value with series_id (a streaming point) "
                             f"or features (a record); got {shapes or 'none'}")
        if self.value is not None and (self.series_id is None or not math.isfinite(self.value)):
            raise ValueError("a streaming point needs a finite value and the series_id of its series")
        if self.timestamps is not None and (self.series is None or len(self.timestamps) != len(self.series)):
            raise ValueError("timestamps: give one per series value")
        return self


class AnomalyOutput(TaskOutput):
    kind: Literal["series", "point", "record"] = Field(..., description="which shape of input this answers")
    method: str = Field(..., description="how it was scored (stl, rolling, zscore, stream, or the record detector)")
    threshold: float = Field(..., description="score above which a point or record is flagged")
    score: float | None = Field(None, description="point/record: anomaly score (robust z for points)")
    is_anomaly: bool | None = Field(None, description="point/record: score > threshold")
    scores: list[float] | None = Field(None, description="series: one score per value")
    flags: list[bool] | None = Field(None, description="series: one flag per value")
    anomalies: list[int] | None = Field(None, description="series: indices of the flagged values")
    change_points: list[int] | None = Field(None, description="series: indices where a new level starts")
    season_length: int | None = Field(None, description="series: the period STL removed (None: none)")
    series_id: str | None = None
    n_seen: int | None = Field(None, description="point: points of the series seen so far, this one included")
    warming_up: bool | None = Field(None, description="point: too few points seen yet to flag any")
    median: float | None = Field(None, description="point: median of the series' window before this point")
    replayed: bool | None = Field(None, description="point: the series' last point again (same timestamp and value), "
                                                    "answered as before and not counted twice")

    def summary(self) -> str:
        if self.kind == "series":
            return (f"{len(self.anomalies or [])} anomalies of {len(self.flags or [])} ({self.method}): "
                    f"{(self.anomalies or [])[:12]}; change points {(self.change_points or [])[:12]}")
        name = f"{self.series_id}: " if self.series_id else ""
        state = "warming up" if self.warming_up else ("ANOMALY" if self.is_anomaly else "normal")
        return f"{name}{state} (score {self.score:.3g}, threshold {self.threshold:g})"


@register
class AnomalyDetection(Task[AnomalyInput, AnomalyOutput], Trainable, Evaluable):
    """Flag unusual points of series (whole or streamed one point at a time) and unusual records."""

    name = "anomaly-detection"
    aliases = ("anomaly", "outlier-detection")
    description = "Flag anomalies: whole series (STL residuals, change points), streaming points, or records"
    Input = AnomalyInput
    Output = AnomalyOutput
    default_model = "anomaly-robust"
    primary_field = "series"
    metric_family = "anomaly"
    target_field = "label"
    example_inputs = (
        {"series": [10, 11, 10, 12, 11, 60, 10, 11, 12, 10, 11, 10, 11, 12, 10, 11]},
        {"series": [5, 6, 5, 7, 6, 5, 6, 20, 21, 20, 22, 21, 20, 21], "method": "zscore"},
        "3, 4, 3, 5, 4, 3, 40, 4, 3, 5",
    )

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        from ...ml.options import config_from_options
        from .model import FILENAME, AnomalyModel
        from .series import METHODS, SeriesOptions

        path = Path(model.path) if model.path else None
        self.trained = AnomalyModel(path) if path is not None and (path / FILENAME).is_file() else None
        try:
            opts = {k: v for k, v in model.spec.options.items() if k != "backend"}
            self.options = config_from_options(SeriesOptions, opts, what=f"model {model.spec.name!r}")
        except BadInput as exc:
            raise ModelUnavailable(f"model {model.spec.name!r}: bad options ({exc})",
                                   hint="see src/modelbay/catalog/anomaly-robust.yaml") from None
        if self.options.method not in METHODS:
            raise ModelUnavailable(f"model {model.spec.name!r}: method {self.options.method!r} is not one of {METHODS}")
        self.stream_key = model.spec.name.split("@")[0]  # a retrained version keeps its series' windows
        self._store = None

    def store(self):
        """The streaming state store, opened on first use."""
        from .streaming import StreamStore, default_store_path

        if self._store is None:
            self._store = StreamStore(default_store_path())
        return self._store

    def _forward(self, items: list[AnomalyInput]) -> list[AnomalyOutput]:
        from .predict import predict_items

        return predict_items(self, items)

    def prediction(self, output: AnomalyOutput) -> Any:
        return output.flags if output.kind == "series" else int(bool(output.is_anomaly))

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Labelled series (a ``value`` column, one series per ``series_id``) or labelled records (``evaldata.py``)."""
        from .evaldata import evaluation_records

        return evaluation_records(path, options)

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """Fit a record detector on normal rows (``modelbay.tasks.anomaly_detection.train``)."""
        from .train import train_anomaly

        return train_anomaly(data, Path(out_dir), options, progress=progress, name=name, task=cls.name)
