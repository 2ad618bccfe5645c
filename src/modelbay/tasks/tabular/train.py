"""Train LightGBM on a table: early stopping, calibration on held-out rows, a model card.

Rows are split (seeded; stratified by label for classification) into train, validation and
calibration parts. The booster trains on the first, stops early on the second, and the third
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

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...core.loading import prepare_environment
from ...core.task import Progress
from ...data.roots import label_counts, names
from ...data.splits import validation_warnings
from ...ml.progress import reporter
from .encoding import label_values, read_columns, select_columns
from .model import FORMAT, apply_calibration, booster_proba, category_key, write_tabular_model

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


def encode_training_columns(table, names: list[str], categorical: set[str]):
    """(X, feature specs): numbers as they are, text (and ``categorical``) as category codes by frequency."""
    import numpy as np

    X = np.full((table.n_rows, len(names)), np.nan)
    specs = []
    for j, name in enumerate(names):
        col = table.columns[name]
        if table.is_numeric(name) and name not in categorical:
            X[:, j] = col
            spec = {"name": name, "type": "numeric"}
            if not np.isnan(col).any() and len(col):  # see encode_rows: never missing in training → median
                spec["fill"] = round(float(np.median(col)), 8)
            specs.append(spec)
            continue
        keys = [category_key(v) for v in col]
        counts: dict[str, int] = {}
        for k in keys:
            if k is not None:
                counts[k] = counts.get(k, 0) + 1
        categories = sorted(counts, key=lambda c: (-counts[c], c))
        code = {c: i for i, c in enumerate(categories)}
        X[:, j] = [code[k] if k is not None else np.nan for k in keys]
        specs.append({"name": name, "type": "categorical", "categories": categories})
    return X, specs


def split_rows(y, kind: str, config: TabularConfig):
    """Seeded (train, validation, calibration) index arrays; stratified by class for classification."""
    import numpy as np

    rng = np.random.default_rng(config.seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if kind == "classification" else [np.arange(len(y))]
    parts: list[list[int]] = [[], [], []]
    for idx in groups:
        idx = rng.permutation(idx)
        n_val = max(1, round(len(idx) * config.val_fraction))
        n_cal = round(len(idx) * config.calibration_fraction)
        if len(idx) - n_val - n_cal < 1:
            n_val, n_cal = min(n_val, len(idx) - 1), 0
        parts[1] += idx[:n_val].tolist()
        parts[2] += idx[n_val:n_val + n_cal].tolist()
        parts[0] += idx[n_val + n_cal:].tolist()
    return tuple(np.array(sorted(p), dtype=int) for p in parts)


def class_weights(y_train, classes: list[str], option) -> Any:
    import numpy as np

    if option in (None, "", "none"):
        return None
    if option == "balanced":
        counts = np.bincount(y_train, minlength=len(classes)).astype(float)
        per_class = len(y_train) / (len(classes) * np.maximum(counts, 1))
    elif isinstance(option, dict):
        unknown = sorted(set(map(str, option)) - set(classes))
        if unknown:
            raise BadInput(f"class_weight names unknown label(s) {unknown}; {names(classes, 'labels')}")
        per_class = np.array([float(option.get(c, 1.0)) for c in classes])
    else:
        raise BadInput(f"class_weight {option!r}: expected 'balanced' or a {{label: weight}} object")
    return per_class[y_train]


def _lgb_params(kind: str, n_classes: int, n_train: int, config: TabularConfig) -> dict[str, Any]:
    objective, metric = {"regression": ("regression", "l2"), "binary": ("binary", "binary_logloss"),
                         "multiclass": ("multiclass", "multi_logloss")}[
        "regression" if kind == "regression" else ("binary" if n_classes == 2 else "multiclass")]
    params = {
        "objective": objective, "metric": metric, "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves, "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction, "bagging_freq": 1 if config.bagging_fraction < 1 else 0,
        "lambda_l2": config.lambda_l2, "seed": config.seed, "deterministic": True, "force_col_wise": True,
        "num_threads": config.num_threads, "verbosity": -1,
        "min_data_in_leaf": config.min_data_in_leaf or (20 if n_train >= 400 else max(2, n_train // 20)),
    }
    if objective == "multiclass":
        params["num_class"] = n_classes
    return params


def train_tabular(data: Path, out_dir: Path, kind: str, options: dict[str, Any], progress: Progress = False, *,
                  name: str = "model", task: str | None = None) -> dict[str, Any]:
    """Train a ``kind`` ("classification" or "regression") model on the table ``data``; returns its card."""
    import numpy as np

    from ...core.version import __version__
    from .fit import calibrate_classifier, classification_metrics, conformal_interval, regression_metrics

    t0 = time.perf_counter()
    config = parse_config(options)
    table = read_columns(data, config.format)
    names, label_col = select_columns(table, asdict(config))
    if table.n_rows < MIN_ROWS:
        raise BadInput(f"{data}: {table.n_rows} rows; tabular training needs at least {MIN_ROWS}")
    unknown_cat = sorted(set(config.categorical_cols) - set(names))
    if unknown_cat:
        raise BadInput(f"categorical_cols names {unknown_cat}, which are not feature columns")
    X, specs = encode_training_columns(table, names, set(config.categorical_cols))
    targets = label_values(table, label_col, kind)
    classes: list[str] = []
    if kind == "classification":
        classes = sorted(set(targets))
        counts = {c: targets.count(c) for c in classes}
        if len(classes) < 2 or min(counts.values()) < 2:
            raise BadInput(f"{data}: need at least 2 labels with at least 2 rows each in {label_col!r}, "
                           f"got {label_counts(counts, 'rows')}")
        y = np.array([classes.index(t) for t in targets])
    else:
        y = np.array(targets, dtype=float)
    train_idx, val_idx, cal_idx = split_rows(y, kind, config)
    weights = class_weights(y[train_idx], classes, config.class_weight) if kind == "classification" else None

    prepare_environment()  # the OpenMP settings every runtime here shares (core/loading.py)
    import lightgbm as lgb

    params = _lgb_params(kind, len(classes), len(train_idx), config)
    categorical = [j for j, s in enumerate(specs) if s["type"] == "categorical"]
    lgb_names = [f"f{j}" for j in range(len(names))]  # LightGBM rejects some characters in names; ours live in tabular.json
    train_set = lgb.Dataset(X[train_idx], y[train_idx], weight=weights, feature_name=lgb_names,
                            categorical_feature=categorical or "auto", free_raw_data=False)
    val_set = lgb.Dataset(X[val_idx], y[val_idx], reference=train_set)
    fit_t0 = time.perf_counter()
    with reporter(progress) as rep:
        tick = rep.stage("boosting rounds", total=config.max_rounds)
        rounds = [0]

        def on_round(env) -> None:
            rounds[0] = env.iteration + 1
            tick(rounds[0])

        callbacks = [on_round]
        if config.early_stopping_rounds:
            callbacks.append(lgb.early_stopping(config.early_stopping_rounds, first_metric_only=True, verbose=False))
        booster = lgb.train(params, train_set, num_boost_round=config.max_rounds, valid_sets=[val_set],
                            valid_names=["validation"], callbacks=callbacks)
        rounds_run = rounds[0]
        tick(config.max_rounds)
        best = booster.best_iteration or rounds_run
        done = rep.stage("calibration", total=1)
        model_str = booster.model_to_string(num_iteration=best)
        booster = lgb.Booster(model_str=model_str)  # cut at the best round: what is saved is what is measured
        threads = config.num_threads
        tabular: dict[str, Any] = {"format": FORMAT, "kind": kind, "features": specs, "num_threads": 0}
        if kind == "classification":
            P_cal = booster_proba(booster, X[cal_idx], len(classes), threads) if len(cal_idx) else None
            P_val = booster_proba(booster, X[val_idx], len(classes), threads)
            calibration, tried = calibrate_classifier(P_cal, y[cal_idx], P_val, y[val_idx], config.calibration)
            tabular.update(labels=classes, calibration=calibration)
            metrics = classification_metrics(y[val_idx], apply_calibration(calibration, P_val), classes)
            metrics["before_calibration"] = classification_metrics(y[val_idx], P_val, classes, brief=True)
            metrics["calibration_log_loss"] = tried
        else:
            pred_val = booster.predict(X[val_idx], num_threads=threads)
            residuals = np.abs(y[cal_idx] - booster.predict(X[cal_idx], num_threads=threads)) if len(cal_idx) else np.array([])
            interval = conformal_interval(residuals, config.interval_coverage)
            tabular["interval"] = interval
            metrics = regression_metrics(y[val_idx], pred_val, interval)
        done(1)
    fit_s = time.perf_counter() - fit_t0
    gain = booster.feature_importance(importance_type="gain")
    total_gain = float(gain.sum()) or 1.0
    top = sorted(range(len(names)), key=lambda j: -gain[j])[:10]
    card = {
        "name": name, "task": task or f"tabular-{kind}", "base": "lightgbm", "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "description": f"LightGBM {kind} on {len(names)} columns of {Path(data).name}",
        "labels": classes or None,
        "data": {"file": str(data), "sha256": _sha256(Path(data)), "n_rows": table.n_rows, "label_col": label_col,
                 "n_train": len(train_idx), "n_validation": len(val_idx), "n_calibration": len(cal_idx),
                 "features": {"numeric": sum(s["type"] == "numeric" for s in specs),
                              "categorical": sum(s["type"] == "categorical" for s in specs)}},
        "options": {"backend": "lightgbm"},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "training": {"best_iteration": best, "rounds_run": rounds_run, "params": params,
                     "calibration": tabular.get("calibration", {}).get("method") if kind == "classification"
                     else ("conformal interval" if tabular.get("interval") else "none"),
                     "fit_seconds": round(fit_s, 2)},
        "metrics": {"validation": metrics},
        "warnings": validation_warnings(len(val_idx), "rows"),
        "feature_importance": [{"feature": names[j], "gain_share": round(float(gain[j]) / total_gain, 4)} for j in top],
        "seconds": round(time.perf_counter() - t0, 2),
        "lightgbm_version": lgb.__version__, "modelbay_version": __version__,
    }
    write_tabular_model(out_dir, model_str, tabular, card)
    return card


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
