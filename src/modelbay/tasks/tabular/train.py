"""Train LightGBM on a table: early stopping, calibration on held-out rows, a model card.

The steps: read and encode the table; split the rows (seeded; stratified by label for
classification) into train, validation and calibration parts; fit; calibrate; score; write. The booster trains on the first, stops early on the second, and the third
fits the calibration: per-class Platt (sigmoid) or isotonic maps of the probabilities
(classification, ``calibration="auto"`` keeps whichever of none/sigmoid/isotonic has the lowest
validation log loss), or the half-width of a split-conformal prediction interval (regression).
Metrics are measured on the validation rows, before and after calibration.

Files written into ``out_dir`` (a staging directory of the artifact store): ``model.txt``,
``tabular.json`` (read by ``modelbay.tasks.tabular.task.TabularModel``) and ``model_card.json``.

>>> card = train_tabular(Path("churn.csv"), Path("/tmp/churn"), "classification",          # doctest: +SKIP
...                      {"label_col": "churned", "drop_cols": ["customer_id"]})
>>> card["metrics"]["validation"]["auc"]                                                   # doctest: +SKIP
0.91
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...core.loading import prepare_environment
from ...core.task import Progress
from ...data.column_codes import encode_training_columns
from ...data.columns import label_values, read_columns, select_columns
from ...data.roots import label_counts
from ...ml.fingerprint import data_fingerprint
from ...ml.model_dir import utc_timestamp
from ...ml.progress import reporter
from ...ml.splits import split_card, stratified_parts, validation_warnings
from ...ml.tabular.boosting import Boosted, boost
from ...ml.tabular.calibrate import apply_calibration, booster_proba
from .model import FORMAT, write_tabular_model

MIN_ROWS = 20


@dataclass
class TabularConfig:
    """Training options (``--param key=value``); the defaults suit a few hundred to a few million rows."""

    label_col: str | None = None               # default: the 'label' or 'target' column
    feature_cols: tuple[str, ...] = ()         # default: every column but the label and drop_cols
    drop_cols: tuple[str, ...] = ()            # e.g. ids
    categorical_cols: tuple[str, ...] = ()     # numeric columns to treat as categories (codes, zip codes); text always is
    format: str | None = None                  # csv, tsv, jsonl, json, parquet when the suffix does not say
    max_rounds: int = 2000
    early_stopping_rounds: int = 50            # 0: always train max_rounds
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int | None = None        # None: 20, fewer for small tables
    feature_fraction: float = 1.0
    bagging_fraction: float = 1.0
    lambda_l2: float = 0.0
    class_weight: str | dict | None = None     # "balanced" or {label: weight}
    val_fraction: float = 0.15
    calibration_fraction: float = 0.15
    calibration: str = "auto"                  # auto, sigmoid, isotonic, none
    interval_coverage: float = 0.9             # regression: coverage of the conformal interval
    seed: int = 0
    num_threads: int = 0                       # 0: LightGBM's default (all cores)


def parse_config(options: dict[str, Any]) -> TabularConfig:
    from ...ml.options import config_from_options

    config = config_from_options(TabularConfig, options)
    if config.calibration not in ("auto", "sigmoid", "isotonic", "none"):
        raise BadInput(f"calibration {config.calibration!r}: expected auto, sigmoid, isotonic or none")
    if not (0 < config.val_fraction < 0.5 and 0 <= config.calibration_fraction < 0.5):
        raise BadInput("val_fraction must be in (0, 0.5) and calibration_fraction in [0, 0.5)")
    if not 0 < config.interval_coverage < 1:
        raise BadInput(f"interval_coverage must be in (0, 1), got {config.interval_coverage}")
    if config.max_rounds < 1 or config.early_stopping_rounds < 0:
        raise BadInput("max_rounds must be >= 1 and early_stopping_rounds >= 0")
    return config


def train_tabular(data: Path, out_dir: Path, kind: str, options: dict[str, Any], progress: Progress = False, *,
                  name: str = "model", task: str | None = None) -> dict[str, Any]:
    """Train a ``kind`` ("classification" or "regression") model on the table ``data``; returns its card."""
    t0 = time.perf_counter()
    config = parse_config(options)
    table, names, label_col = _read(data, config)
    X, specs = encode_training_columns(table, names, set(config.categorical_cols))
    y, classes = _targets(table, label_col, kind, data)
    parts = split_rows(y, kind, config)
    prepare_environment()  # the OpenMP settings every runtime here shares (core/loading.py)
    fit_t0 = time.perf_counter()
    with reporter(progress) as rep:
        boosted = boost(X, y, parts[0], parts[1], specs, classes, kind, config, rep)
        done = rep.stage("calibration", total=1)
        calibrated = _calibrate(boosted.booster, X, y, parts, classes, kind, config)
        metrics = _score(boosted.booster, X[parts[1]], y[parts[1]], classes, calibrated, config.num_threads)
        done(1)
    fit_s = time.perf_counter() - fit_t0
    tabular: dict[str, Any] = {"format": FORMAT, "kind": kind, "features": specs, "num_threads": 0}
    tabular.update({"labels": classes, "calibration": calibrated["calibration"]} if kind == "classification"
                   else {"interval": calibrated["interval"]})
    card = _card(data, table.n_rows, names, label_col, specs, parts, config, boosted, tabular, metrics,
                 name=name, task=task or f"tabular-{kind}", fit_s=fit_s)
    card["seconds"] = round(time.perf_counter() - t0, 2)
    write_tabular_model(out_dir, boosted.model_str, tabular, card)
    return card


def _read(data: Path, config: TabularConfig):
    """``(table, feature names, label column)``, checked: enough rows, categorical columns among the features."""
    table = read_columns(data, config.format)
    names, label_col = select_columns(table, asdict(config))
    if table.n_rows < MIN_ROWS:
        raise BadInput(f"{data}: {table.n_rows} rows; tabular training needs at least {MIN_ROWS}")
    unknown_cat = sorted(set(config.categorical_cols) - set(names))
    if unknown_cat:
        raise BadInput(f"categorical_cols names {unknown_cat}, which are not feature columns")
    return table, names, label_col


def _targets(table, label_col: str, kind: str, data: Path):
    """``(y, classes)``: class indices and the sorted labels (classification), or floats and ``[]``."""
    import numpy as np

    targets = label_values(table, label_col, kind)
    if kind != "classification":
        return np.array(targets, dtype=float), []
    classes = sorted(set(targets))
    counts = {c: targets.count(c) for c in classes}
    if len(classes) < 2 or min(counts.values()) < 2:
        raise BadInput(f"{data}: need at least 2 labels with at least 2 rows each in {label_col!r}, "
                       f"got {label_counts(counts, 'rows')}")
    return np.array([classes.index(t) for t in targets]), classes


def split_rows(y, kind: str, config: TabularConfig):
    """Seeded (train, validation, calibration) index arrays; stratified by class for classification."""
    import numpy as np

    strata = y if kind == "classification" else np.zeros(len(y))
    parts = stratified_parts(strata, [config.val_fraction, config.calibration_fraction], config.seed)
    return tuple(np.array(p, dtype=int) for p in parts)


def _calibrate(booster, X, y, parts, classes: list[str], kind: str, config: TabularConfig) -> dict[str, Any]:
    """On the calibration rows: ``{"calibration", "tried"}`` (classification) or ``{"interval"}`` (regression)."""
    import numpy as np

    from ...ml.tabular.calibrate import calibrate_classifier
    from ...ml.tabular.scores import conformal_interval

    _, val_idx, cal_idx = parts
    threads = config.num_threads
    if kind == "classification":
        P_cal = booster_proba(booster, X[cal_idx], len(classes), threads) if len(cal_idx) else None
        P_val = booster_proba(booster, X[val_idx], len(classes), threads)
        calibration, tried = calibrate_classifier(P_cal, y[cal_idx], P_val, y[val_idx], config.calibration)
        return {"calibration": calibration, "tried": tried}
    residuals = np.abs(y[cal_idx] - booster.predict(X[cal_idx], num_threads=threads)) if len(cal_idx) else np.array([])
    return {"interval": conformal_interval(residuals, config.interval_coverage)}


def _score(booster, X_val, y_val, classes: list[str], calibrated: dict[str, Any], threads: int) -> dict[str, Any]:
    """Validation metrics: calibrated and raw (classification), or with the interval's coverage (regression)."""
    from ...ml.tabular.scores import classification_metrics, regression_metrics

    if "interval" in calibrated:
        return regression_metrics(y_val, booster.predict(X_val, num_threads=threads), calibrated["interval"])
    P_val = booster_proba(booster, X_val, len(classes), threads)
    metrics = classification_metrics(y_val, apply_calibration(calibrated["calibration"], P_val), classes)
    metrics["before_calibration"] = classification_metrics(y_val, P_val, classes, brief=True)
    metrics["calibration_log_loss"] = calibrated["tried"]
    return metrics


def _card(data: Path, n_rows: int, names: list[str], label_col: str, specs: list[dict[str, Any]], parts,
          config: TabularConfig, boosted: Boosted, tabular: dict[str, Any], metrics: dict[str, Any], *,
          name: str, task: str, fit_s: float) -> dict[str, Any]:
    import lightgbm as lgb

    from ...core.version import __version__

    kind = tabular["kind"]
    n_train, n_val, n_cal = (len(p) for p in parts)
    gain = boosted.booster.feature_importance(importance_type="gain")
    total_gain = float(gain.sum()) or 1.0
    top = sorted(range(len(names)), key=lambda j: -gain[j])[:10]
    calibration = (tabular["calibration"]["method"] if kind == "classification"
                   else ("conformal interval" if tabular["interval"] else "none"))
    return {
        "name": name, "task": task, "base": "lightgbm", "format": FORMAT, "created": utc_timestamp(),
        "description": f"LightGBM {kind} on {len(names)} columns of {Path(data).name if isinstance(data, Path) else 'a database table'}",
        "labels": tabular.get("labels") or None,
        "data": {**data_fingerprint(data), "n_rows": n_rows, "label_col": label_col,
                 "n_train": n_train, "n_validation": n_val, "n_calibration": n_cal,
                 "features": {"numeric": sum(s["type"] == "numeric" for s in specs),
                              "categorical": sum(s["type"] == "categorical" for s in specs)},
                 "split": split_card(config.seed, config.val_fraction, n_train, n_val,
                                     stratified_by="label" if kind == "classification" else "nothing",
                                     calibration_fraction=config.calibration_fraction, n_calibration=n_cal)},
        "options": {"backend": "lightgbm"},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "training": {"best_iteration": boosted.best_iteration, "rounds_run": boosted.rounds_run,
                     "params": boosted.params, "calibration": calibration, "fit_seconds": round(fit_s, 2)},
        "metrics": {"validation": metrics},
        "warnings": validation_warnings(n_val, "rows"),
        "feature_importance": [{"feature": names[j], "gain_share": round(float(gain[j]) / total_gain, 4)} for j in top],
        "lightgbm_version": lgb.__version__, "modelbay_version": __version__,
    }
