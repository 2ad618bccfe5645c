"""Tabular classification and regression: gradient-boosted trees (LightGBM) over one row of features.

A model directory (written by ``modelbay.tasks.tabular.train``) holds:

* ``model.txt`` — the LightGBM booster, cut at the best early-stopping round
* ``tabular.json`` — format, kind, labels, the features in training order (numeric or categorical,
  with the categories seen in training), the probability calibration (classification) or the
  conformal interval (regression)
* ``model_card.json`` — data hash, options, metrics before/after calibration, feature importance

An input is one row, ``{"features": {"age": 41, "plan": "pro", "churned_before": false}}``:
columns the model does not know are an error naming them; columns it knows but the row lacks
(or ``null``) are missing values, which the trees route as they learned from missing values in
training (a numeric column never missing in training gets its training median instead). Categorical columns take
strings; a category not seen in training counts as missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from ...core.errors import ModelUnavailable
from ...core.protocols import Evaluable, Labelled, Trainable
from ...core.registry import register
from ...core.task import Task, TaskOutput
from ...core.types import ClassificationOutput, classification_outputs
from ...data.databases import data_source
from ...ml.tabular.row_input import RowInput
from .model import TabularModel


class TabularInput(RowInput):
    """One row of a table (see ``modelbay.ml.tabular.row_input``)."""


class RegressionOutput(TaskOutput):
    value: float = Field(..., description="the predicted value")
    interval: tuple[float, float] | None = Field(
        None, description="split-conformal prediction interval at the model's coverage (tabular.json interval.coverage)",
    )

    def summary(self) -> str:
        if self.interval is None:
            return f"{self.value:.6g}"
        return f"{self.value:.6g} [{self.interval[0]:.6g}, {self.interval[1]:.6g}]"


# -- the two tasks share everything but their outputs ------------------------------------------

class _TabularTask(Task, Trainable, Evaluable):
    Input = TabularInput
    primary_field = "features"
    kind: ClassVar[str]

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Records ``{"features": {...}, <target_field>: ...}`` from a CSV/TSV/JSONL/JSON/Parquet table.

        ``options``: ``label_col`` (default ``label``, else ``target``), ``feature_cols`` (default:
        every other column), ``drop_cols`` (e.g. ids), ``format`` (when the suffix does not say).
        """
        from ...data.columns import load_records

        return load_records(data_source(path), options, cls.kind, cls.target_field)

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """LightGBM with early stopping, then calibration on a held-out split (``modelbay.tasks.tabular.train``)."""
        from .train import train_tabular

        return train_tabular(data_source(data), Path(out_dir), cls.kind, options, progress=progress, name=name, task=cls.name)

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        self.backend = TabularModel(model.path)
        if self.backend.kind != self.kind:
            raise ModelUnavailable(f"model {model.spec.name!r} is a {self.backend.kind} model; "
                                   f"run it with tabular-{self.backend.kind}")

    def _forward(self, batch: list[TabularInput]):
        return self.backend.predict([item.features for item in batch])


@register
class TabularClassification(_TabularTask, Labelled):
    name = "tabular-classification"
    aliases = ("tabular-classifier",)
    description = "Label a row of a table (numbers, categories, missing values) with a calibrated LightGBM model"
    Output = ClassificationOutput
    default_model = "breast-cancer-lgbm"
    kind = "classification"
    metric_family = "classification"
    target_field = "label"
    example_inputs = (
        {"features": {"worst concave points": 0.265, "mean concave points": 0.147, "worst area": 2019.0,
                      "worst texture": 17.3, "worst perimeter": 184.6, "worst concavity": 0.712}},
        {"features": {"worst concave points": 0.073, "mean concave points": 0.031, "worst area": 630.5,
                      "worst texture": 20.5, "worst perimeter": 96.1, "worst concavity": None}},
        {"worst area": 900.0, "worst concave points": 0.12},
    )

    @property
    def labels(self) -> list[str]:
        """The loaded model's labels, in the order of its probabilities."""
        return [str(label) for label in self.backend.labels]

    def postprocess(self, raw, items):
        return classification_outputs(self.backend.labels, raw)


@register
class TabularRegression(_TabularTask):
    name = "tabular-regression"
    aliases = ("tabular-regressor",)
    description = "Predict a number from a row of a table with a LightGBM model, with a conformal interval"
    Output = RegressionOutput
    default_model = "diabetes-lgbm"
    kind = "regression"
    metric_family = "regression"
    target_field = "value"
    example_inputs = (
        {"features": {"age": 59, "sex": 2, "bmi": 32.1, "bp": 101.0, "s5": 4.86, "s6": 87}},
        {"features": {"age": 23, "sex": 1, "bmi": 20.2, "bp": 75.0, "s5": 3.9, "s6": 80}},
        {"bmi": 27.0},
    )

    def postprocess(self, raw, items):
        interval = self.backend.config.get("interval") or {}
        half = interval.get("half_width")
        return [RegressionOutput(value=round(float(v), 6),
                                 interval=(round(float(v) - half, 6), round(float(v) + half, 6)) if half is not None else None)
                for v in raw]
