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

import json
import math
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from ...core.errors import BadInput, ModelUnavailable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput
from ...core.types import ClassificationOutput

FORMAT = "modelbay.tabular/1"
FeatureValue = float | int | str | bool | None


class TabularInput(TaskInput):
    features: dict[str, FeatureValue] = Field(
        ..., max_length=10_000, description="one row: column name -> number, string (categorical), bool or null (missing)",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_row(cls, data: Any) -> Any:
        # {"age": 41, ...} without the "features" wrapper is the row itself (JSONL files of rows, the CLI)
        if isinstance(data, dict) and "features" not in data and data:
            return {"features": data}
        return data

    @field_validator("features", mode="before")
    @classmethod
    def _json_text(cls, value: Any) -> Any:
        # the CLI passes a row as JSON text: modelbay run risk '{"age": 41}'
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a valid JSON object ({exc.msg})") from None
        return value


class RegressionOutput(TaskOutput):
    value: float = Field(..., description="the predicted value")
    interval: tuple[float, float] | None = Field(
        None, description="split-conformal prediction interval at the model's coverage (tabular.json interval.coverage)",
    )

    def summary(self) -> str:
        if self.interval is None:
            return f"{self.value:.6g}"
        return f"{self.value:.6g} [{self.interval[0]:.6g}, {self.interval[1]:.6g}]"


# -- encoding rows, shared with the trainer ------------------------------------------------------

def category_key(value: Any) -> str | None:
    """The string a categorical value is known by: 3, 3.0 and "3" are the same category."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def encode_rows(rows: list[dict[str, Any]], features: list[dict[str, Any]]):
    """Rows of ``{column: value}`` → a float64 matrix in training column order (NaN = missing).

    Categorical columns become the index of their category. A numeric column that had no missing
    values in training gets its training median (``fill``) where a row lacks it. Unknown columns and
    numeric columns given a non-number are a ``BadInput`` naming them.
    """
    import numpy as np

    index = {f["name"]: j for j, f in enumerate(features)}
    unknown = sorted({k for row in rows for k in row if k not in index})
    if unknown:
        known = [f["name"] for f in features]
        shown = ", ".join(known[:20]) + (f", … ({len(known)} in all)" if len(known) > 20 else "")
        raise BadInput(f"features: unknown column(s) {', '.join(map(repr, unknown))}; the model knows: {shown}",
                       hint="drop those columns, or retrain the model with them")
    lookups = [{c: i for i, c in enumerate(f.get("categories", []))} for f in features]
    X = np.full((len(rows), len(features)), np.nan)
    for i, row in enumerate(rows):
        for name, value in row.items():
            j = index[name]
            if features[j]["type"] == "categorical":
                code = lookups[j].get(category_key(value))
                if code is not None:
                    X[i, j] = code
            elif value is not None:
                X[i, j] = _number(name, value)
    for j, f in enumerate(features):
        # a column never missing in training: LightGBM would read a missing value as 0, so use its training median
        if f.get("fill") is not None:
            column = X[:, j]
            column[np.isnan(column)] = f["fill"]
    return X


def _number(name: str, value: Any) -> float:
    if isinstance(value, (bool, int, float)):
        return float(value)
    text = value.strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise BadInput(f"features.{name}: expected a number, got {value!r:.60}") from None


def apply_calibration(calibration: dict[str, Any] | None, P):
    """Map raw class probabilities ``P`` (n, k) through the fitted calibration (see ``train.tabular``).

    Binary models calibrate P(class 1) only; multiclass models calibrate each class one-vs-rest and
    renormalise, as scikit-learn's ``CalibratedClassifierCV`` does.
    """
    import numpy as np

    method = (calibration or {}).get("method", "none")
    if method == "none":
        return P
    columns = [1] if P.shape[1] == 2 else list(range(P.shape[1]))
    out = P.copy()
    for col, params in zip(columns, calibration["per_class"]):
        p = P[:, col]
        if method == "isotonic":
            out[:, col] = np.interp(p, params["x"], params["y"])
        elif method == "sigmoid":
            logit = np.log(np.clip(p, 1e-12, 1.0)) - np.log(np.clip(1.0 - p, 1e-12, 1.0))
            out[:, col] = 1.0 / (1.0 + np.exp(-(params["coef"] * logit + params["intercept"])))
        else:
            raise ValueError(f"unknown calibration method {method!r}")
    if P.shape[1] == 2:
        out[:, 0] = 1.0 - out[:, 1]
        return out
    total = out.sum(axis=1, keepdims=True)
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), 1.0 / P.shape[1])


def booster_proba(booster, X, n_classes: int, num_threads: int = 0):
    """Class probabilities (n, k) from a LightGBM booster (binary boosters give P(class 1) only)."""
    import numpy as np

    raw = np.asarray(booster.predict(X, num_threads=num_threads))
    return np.column_stack([1.0 - raw, raw]) if n_classes == 2 else raw.reshape(len(X), n_classes)


class TabularModel:
    """A trained model directory, loaded: ``predict(rows)`` gives probabilities (n, k) or values (n,)."""

    def __init__(self, path: str | Path) -> None:
        from ...ml.model_files import ModelDir

        path = Path(path)
        d = ModelDir(path, hint="retrain it with `modelbay train tabular-…`")
        bad = d.error
        config = d.config("tabular.json", (FORMAT,))
        if not (path / "model.txt").is_file():
            raise bad("model.txt is missing")
        import lightgbm as lgb

        self.config = config
        self.kind: str = config["kind"]
        self.features: list[dict[str, Any]] = config["features"]
        self.labels: list[str] = config.get("labels", [])
        self.num_threads = int(config.get("num_threads", 0))
        try:
            self.booster = lgb.Booster(model_file=str(path / "model.txt"))
        except lgb.basic.LightGBMError as exc:
            raise bad(f"model.txt cannot be read by LightGBM ({exc})") from None
        if self.booster.num_feature() != len(self.features):
            raise bad(f"model.txt has {self.booster.num_feature()} features, tabular.json lists {len(self.features)}")

    def predict(self, rows: list[dict[str, Any]]):
        X = encode_rows(rows, self.features)
        if self.kind == "classification":
            P = booster_proba(self.booster, X, len(self.labels), self.num_threads)
            return apply_calibration(self.config.get("calibration"), P)
        import numpy as np

        return np.asarray(self.booster.predict(X, num_threads=self.num_threads), dtype=float)


class _TabularTask(Task):
    Input = TabularInput
    primary_field = "features"
    capabilities: ClassVar[frozenset[str]] = frozenset({"run", "train", "eval"})
    kind: ClassVar[str]

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Records ``{"features": {...}, <target_field>: ...}`` from a CSV/TSV/JSONL/JSON/Parquet table.

        ``options``: ``label_col`` (default ``label``, else ``target``), ``feature_cols`` (default:
        every other column), ``drop_cols`` (e.g. ids), ``format`` (when the suffix does not say).
        """
        from .encoding import load_records

        return load_records(Path(path), options, cls.kind, cls.target_field)

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """LightGBM with early stopping, then calibration on a held-out split (``modelbay.tasks.tabular.train``)."""
        from .train import train_tabular

        return train_tabular(Path(data), Path(out_dir), cls.kind, options, progress=progress, name=name, task=cls.name)

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        self.backend = TabularModel(model.path)
        if self.backend.kind != self.kind:
            raise ModelUnavailable(f"model {model.spec.name!r} is a {self.backend.kind} model; "
                                   f"run it with tabular-{self.backend.kind}")

    def _forward(self, batch: list[TabularInput]):
        return self.backend.predict([item.features for item in batch])


@register
class TabularClassification(_TabularTask):
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

    def postprocess(self, raw, items):
        labels = self.backend.labels
        outputs = []
        for row in raw:
            best = int(row.argmax())
            outputs.append(ClassificationOutput(
                label=labels[best], score=round(float(row[best]), 6),
                scores={label: round(float(p), 6) for label, p in zip(labels, row)},
            ))
        return outputs


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
