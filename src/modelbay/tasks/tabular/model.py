"""The tabular model format, reader and writer together: a LightGBM booster (``model.txt``) and
``tabular.json`` (features in training order, categories, calibration or interval); see ``task.py``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...ml.model_dir import atomic_model_dir, write_card, write_json

FORMAT = "modelbay.tabular/1"


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


def write_tabular_model(out_dir: Path, booster_text: str, tabular: dict[str, Any], card: dict[str, Any]) -> None:
    """``model.txt``, ``tabular.json`` and ``model_card.json``, atomically (a half-written model never looks valid)."""
    with atomic_model_dir(out_dir) as tmp:
        (tmp / "model.txt").write_text(booster_text, encoding="utf-8")
        write_json(tmp, "tabular.json", tabular, indent=1)
        write_card(tmp, card)
