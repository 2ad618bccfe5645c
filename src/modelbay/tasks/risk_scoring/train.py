"""Train a risk model: LightGBM on a table with a yes/no outcome, calibrated, with a decision threshold.

The rows are split (seeded, stratified by outcome) into train / validation / calibration parts.
The booster trains on the first, stops early on the second, and the third fits the
calibration (Platt or isotonic, whichever has the lower validation log loss, or none) and
chooses the threshold (``threshold.py``). Metrics (ROC-AUC, PR-AUC, KS, Brier; precision and recall
at the threshold) are measured on the validation rows, which chose neither. The training table's
histograms are kept in ``drift.json`` for ``modelbay eval --drift``.

>>> card = train_risk(Path("loans.csv"), Path("/tmp/credit"), {"label_col": "Status", "positive": "bad",
...                   "cost_ratio": 5})                                                      # doctest: +SKIP
>>> card["threshold"]["value"], card["metrics"]["validation"]["roc_auc"]                    # doctest: +SKIP
(0.166667, 0.84)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...core.loading import prepare_environment
from ...core.task import Progress
from ...ml.progress import reporter
from .card import drift_reference, risk_card
from .model import FORMAT, calibrated, write_risk_model

MIN_ROWS = 50


@dataclass
class RiskConfig:
    """Training options (``--param key=value``)."""

    label_col: str | None = None               # default: the 'label' or 'target' column
    positive: str | None = None                # the label that is the risk (bad, yes, 1); default: "1"/"true"/"yes", else the rarer
    cost_ratio: float | None = None            # cost of a missed positive / cost of a false flag (default 1)
    precision_target: float | None = None      # or: the lowest threshold reaching this precision
    monotone: str | dict | None = None         # "debt_ratio:+1,income:-1" or {"debt_ratio": 1}
    feature_cols: tuple[str, ...] = ()
    drop_cols: tuple[str, ...] = ()
    categorical_cols: tuple[str, ...] = ()
    format: str | None = None
    # "balanced" or {label: weight}; off by default: with calibration after it, weighting the rare class scored
    # lower ROC-AUC and PR-AUC on ISLR Default and mlc_churn (docs/models.md); imbalance is handled by the
    # stratified splits, the calibration and the threshold
    class_weight: str | dict | None = None
    max_rounds: int = 1000
    early_stopping_rounds: int = 50
    # small trees keep reasons fast (TreeSHAP's cost grows with leaves x depth²); on the five bench tables
    # 6 leaves at 0.1 scored as well as 15 at 0.05 (bench/risk_quality.py, docs/models.md)
    learning_rate: float = 0.1
    num_leaves: int = 6
    min_data_in_leaf: int | None = None
    feature_fraction: float = 1.0
    bagging_fraction: float = 1.0
    lambda_l2: float = 1.0
    val_fraction: float = 0.15
    calibration_fraction: float = 0.15
    calibration: str = "auto"                  # auto, sigmoid, isotonic, none
    seed: int = 0
    num_threads: int = 0


def parse_config(options: dict[str, Any]) -> RiskConfig:
    from ...ml.options import config_from_options

    config = config_from_options(RiskConfig, options)
    if config.calibration not in ("auto", "sigmoid", "isotonic", "none"):
        raise BadInput(f"calibration {config.calibration!r}: expected auto, sigmoid, isotonic or none")
    if not (0 < config.val_fraction < 0.5 and 0 < config.calibration_fraction < 0.5):
        raise BadInput("val_fraction and calibration_fraction must be in (0, 0.5)")
    for key in ("cost_ratio", "precision_target"):
        value = getattr(config, key)
        if value is not None:
            try:
                setattr(config, key, float(value))
            except (TypeError, ValueError):
                raise BadInput(f"{key}={value!r}: expected a number") from None
    return config


def parse_monotone(option: str | dict | None, names: list[str], specs: list[dict[str, Any]]) -> list[int] | None:
    """``"debt_ratio:+1,income:-1"`` (or a dict) → LightGBM's ``monotone_constraints``, one per feature."""
    if option in (None, "", {}):
        return None
    if isinstance(option, str):
        pairs = {}
        for part in filter(None, (p.strip() for p in option.split(","))):
            name, sep, sign = part.rpartition(":")
            if not sep or sign.strip() not in ("+1", "1", "-1", "0"):
                raise BadInput(f"monotone: {part!r} is not column:+1, column:-1 or column:0",
                               hint="e.g. --param monotone=debt_ratio:+1,income:-1")
            pairs[name.strip()] = int(sign)
        option = pairs
    signs = {}
    for name, sign in dict(option).items():
        if name not in names:
            raise BadInput(f"monotone names {name!r}, which is not a feature column")
        if specs[names.index(name)]["type"] == "categorical":
            raise BadInput(f"monotone: {name!r} is categorical; only numeric columns can be monotone")
        if int(sign) not in (-1, 0, 1):
            raise BadInput(f"monotone: {name}={sign!r}; expected +1 (risk rises with it), -1 or 0")
        signs[name] = int(sign)
    return [signs.get(n, 0) for n in names]


def train_risk(data: Path, out_dir: Path, options: dict[str, Any], progress: Progress = False, *,
               name: str = "model", task: str = "risk-scoring") -> dict[str, Any]:
    """Train a risk model on the table ``data``; returns its card."""
    from ...data.column_codes import encode_training_columns
    from ...ml.tabular.boosting import boost
    from .data import read_training_table

    t0 = time.perf_counter()
    config = parse_config(options)
    table, names, label_col, y, labels, positive = read_training_table(data, config, MIN_ROWS)
    X, specs = encode_training_columns(table, names, set(config.categorical_cols))
    monotone = parse_monotone(config.monotone, names, specs)
    parts = _split(y, config)
    prepare_environment()
    extra = {"monotone_constraints": monotone, "monotone_constraints_method": "advanced"} if monotone else None
    with reporter(progress) as rep:
        boosted = boost(X, y, parts[0], parts[1], specs, labels, "classification", config, rep, extra)
        done = rep.stage("calibration and threshold", total=1)
        fitted = _calibrate_and_threshold(boosted.booster, X, y, parts, config)
        done(1)
    fit_s = time.perf_counter() - t0
    risk = {"format": FORMAT, "features": specs, "labels": labels, "positive": positive,
            "calibration": fitted["calibration"], "threshold": fitted["threshold"], "num_threads": 0}
    card = risk_card(data, table.n_rows, names, label_col, specs, parts, config, boosted, risk, fitted,
                     monotone=monotone, class_weight=config.class_weight, name=name, task=task, fit_s=fit_s)
    card["seconds"] = round(time.perf_counter() - t0, 2)
    write_risk_model(out_dir, boosted.model_str, risk, drift_reference(table, names, specs), card)
    return card


def _split(y, config: RiskConfig):
    import numpy as np

    from ...ml.splits import stratified_parts

    parts = stratified_parts(y, [config.val_fraction, config.calibration_fraction], config.seed)
    return tuple(np.array(p, dtype=int) for p in parts)


def _calibrate_and_threshold(booster, X, y, parts, config: RiskConfig) -> dict[str, Any]:
    """Calibration (on the calibration rows, chosen on the validation rows), threshold, validation metrics."""
    import numpy as np

    from ...ml.metrics.risk import risk_scores
    from ...ml.tabular.calibrate import calibrate_classifier
    from .threshold import choose_threshold

    _, val_idx, cal_idx = parts
    threads = config.num_threads

    def proba(idx):
        p = np.asarray(booster.predict(X[idx], num_threads=threads), dtype=float)
        return np.column_stack([1.0 - p, p])

    P_cal, P_val = proba(cal_idx), proba(val_idx)
    calibration, tried = calibrate_classifier(P_cal, y[cal_idx], P_val, y[val_idx], config.calibration)
    raw_cal = booster.predict(X[cal_idx], raw_score=True, num_threads=threads)
    raw_val = booster.predict(X[val_idx], raw_score=True, num_threads=threads)
    p_cal, p_val = calibrated(calibration, raw_cal), calibrated(calibration, raw_val)
    threshold = choose_threshold(y[cal_idx], p_cal, config.cost_ratio, config.precision_target)
    metrics = risk_scores(y[val_idx], p_val, threshold["value"])
    metrics["before_calibration"] = {k: v for k, v in risk_scores(y[val_idx], P_val[:, 1]).items()
                                     if k in ("brier", "log_loss")}
    metrics["calibration_log_loss"] = tried
    return {"calibration": calibration, "threshold": threshold, "metrics": metrics}
