"""The risk model format, reader and writer together.

A model directory holds ``model.txt`` (the LightGBM booster), ``risk.json`` (features in training
order, the labels and which one is the risk, the calibration, the decision threshold and why it was
chosen), ``drift.json`` (reference histograms of the training table, for ``modelbay eval --drift``)
and ``model_card.json``.

Reasons are exact TreeSHAP values from LightGBM (``predict(..., pred_contrib=True)``), which add up
to the booster's log-odds. A feature's ``contribution`` on the probability scale is how much the
calibrated risk would drop if its log-odds share were taken away: ``risk - calibrated(sigmoid(raw -
phi_j))``. It keeps the sign of ``phi_j`` (the calibration is monotone) and reads as "raised the risk
by 0.12"; the contributions need not add up to the risk minus the base rate, the log-odds do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...data.column_codes import category_key, encode_rows
from ...ml.model_dir import atomic_model_dir, write_card, write_json
from ...ml.tabular.calibrate import apply_calibration

FORMAT = "modelbay.risk/1"
#: batches smaller than this are scored on one thread by LightGBM's TreeSHAP; larger ones by the
#: table of ``ml/tabular/treeshap.py`` (same values)
SMALL_BATCH_ROWS = 64


def calibrated(calibration: dict[str, Any] | None, raw_log_odds):
    """Calibrated P(risk) for booster log-odds of any shape."""
    import numpy as np

    raw = np.asarray(raw_log_odds, dtype=float)
    p = 1.0 / (1.0 + np.exp(-raw.ravel()))
    return apply_calibration(calibration, np.column_stack([1.0 - p, p]))[:, 1].reshape(raw.shape)


class RiskModel:
    """A trained risk model directory, loaded: ``score(rows, max_reasons)`` gives risks and reasons."""

    def __init__(self, path: str | Path) -> None:
        from ...ml.model_files import ModelDir

        path = Path(path)
        d = ModelDir(path, hint="retrain it with `modelbay train risk-scoring`")
        bad = d.error
        config = d.config("risk.json", (FORMAT,), ("features", "labels", "positive", "threshold"))
        from ...ml.tabular.boosting import load_booster

        self.config = config
        self.features: list[dict[str, Any]] = config["features"]
        self.names = [f["name"] for f in self.features]
        self.labels: list[str] = config["labels"]
        self.positive: str = config["positive"]
        self.negative: str = next(label for label in self.labels if label != self.positive)
        self.threshold: float = float(config["threshold"]["value"])
        self.num_threads = int(config.get("num_threads", 0))
        self.booster = load_booster(path, len(self.features), "risk.json", bad)
        from ...ml.tabular.treeshap import PatternShap

        self._tabled = PatternShap(self.booster)  # the same values as pred_contrib, faster for large batches
        drift = path / "drift.json"
        self.reference = json.loads(drift.read_text(encoding="utf-8")) if drift.is_file() else None

    def score(self, rows: list[dict[str, Any]], max_reasons: int = 3):
        """``(risks, contributions, log_odds)``: (n,) calibrated risks; (n, features) probability and log-odds
        amounts per feature, or ``None`` for both when ``max_reasons`` is 0 (plain prediction, faster)."""
        import numpy as np

        X = encode_rows(rows, self.features)
        # a few rows: one thread; waking OpenMP's team costs more than it saves, and on a busy CPU far more
        threads = 1 if len(rows) < SMALL_BATCH_ROWS else self.num_threads
        if max_reasons <= 0:
            raw = np.asarray(self.booster.predict(X, raw_score=True, num_threads=threads), dtype=float)
            return calibrated(self.config.get("calibration"), raw), None, None
        contrib = self._tabled.contributions(X) if len(rows) >= SMALL_BATCH_ROWS else None
        if contrib is None:
            contrib = np.asarray(self.booster.predict(X, pred_contrib=True, num_threads=threads), dtype=float)
        phi = contrib[:, :-1]
        raw = contrib.sum(axis=1)
        cal = self.config.get("calibration")
        risk = calibrated(cal, raw)
        without = calibrated(cal, raw[:, None] - phi)
        return risk, risk[:, None] - without, phi

    def live_columns(self, rows: list[dict[str, Any]]) -> dict[str, list]:
        """Each feature's raw values in ``rows`` (numbers as floats, NaN missing; categories as strings), for drift."""
        out: dict[str, list] = {}
        for f in self.features:
            values = [row.get(f["name"]) for row in rows]
            if f["type"] == "categorical":
                out[f["name"]] = [category_key(v) for v in values]
            else:
                out[f["name"]] = [_number_or_nan(v) for v in values]
        return out


def _number_or_nan(value: Any) -> float:
    if value is None:
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def write_risk_model(out_dir: Path, booster_text: str, risk: dict[str, Any], drift: dict[str, Any],
                     card: dict[str, Any]) -> None:
    """``model.txt``, ``risk.json``, ``drift.json`` and ``model_card.json``, atomically."""
    with atomic_model_dir(out_dir) as tmp:
        (tmp / "model.txt").write_text(booster_text, encoding="utf-8")
        write_json(tmp, "risk.json", risk, indent=1)
        write_json(tmp, "drift.json", drift)
        write_card(tmp, card)
