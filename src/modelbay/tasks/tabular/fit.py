"""The fitting steps of tabular training (``train.py``): LightGBM boosting with early stopping, calibration, metrics.

Calibrations are stored as plain numbers in ``tabular.json`` (no pickles): isotonic maps as their
breakpoints, Platt maps as a slope and an intercept on the logit, applied by
``modelbay.tasks.tabular.task.apply_calibration``.

>>> import numpy as np
>>> conformal_interval(np.arange(1.0, 101.0), 0.9)["half_width"]
91.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ...core.errors import BadInput
from ...data.roots import names
from .model import apply_calibration


@dataclass
class Boosted:
    """A booster cut at its best round, as saved (``model_str``) and loaded back (``booster``)."""

    booster: Any
    model_str: str
    params: dict[str, Any]
    best_iteration: int
    rounds_run: int


def boost(X, y, train_idx, val_idx, specs: list[dict[str, Any]], classes: list[str], kind: str, config, rep) -> Boosted:
    """LightGBM on the training rows, early stopping on the validation rows; ``config`` is a ``TabularConfig``.

    ``rep`` is a ``ml.progress`` reporter; the boosting rounds are its stage. What is returned is cut
    at the best round, so what is saved is what is measured.
    """
    import lightgbm as lgb

    weights = class_weights(y[train_idx], classes, config.class_weight) if kind == "classification" else None
    params = lgb_params(kind, len(classes), len(train_idx), config)
    categorical = [j for j, s in enumerate(specs) if s["type"] == "categorical"]
    lgb_names = [f"f{j}" for j in range(len(specs))]  # LightGBM rejects some characters in names; ours live in tabular.json
    train_set = lgb.Dataset(X[train_idx], y[train_idx], weight=weights, feature_name=lgb_names,
                            categorical_feature=categorical or "auto", free_raw_data=False)
    val_set = lgb.Dataset(X[val_idx], y[val_idx], reference=train_set)
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
    tick(config.max_rounds)
    best = booster.best_iteration or rounds[0]
    model_str = booster.model_to_string(num_iteration=best)
    return Boosted(lgb.Booster(model_str=model_str), model_str, params, best, rounds[0])


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


def lgb_params(kind: str, n_classes: int, n_train: int, config) -> dict[str, Any]:
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


#: fewer calibration rows than this: the probabilities are left as the booster gives them
MIN_CALIBRATION_ROWS = 10


def _fit_map(method: str, P, y) -> dict[str, Any]:
    import numpy as np

    per_class = []
    for col in ([1] if P.shape[1] == 2 else range(P.shape[1])):
        target = (y == col).astype(float)
        p = P[:, col]
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            # a step of a few rows must not claim certainty: bounded away from 0 and 1 by 1/(n+2)
            edge = 1.0 / (len(target) + 2)
            iso = IsotonicRegression(out_of_bounds="clip", y_min=edge, y_max=1.0 - edge).fit(p, target)
            per_class.append({"x": np.round(iso.X_thresholds_, 8).tolist(), "y": np.round(iso.y_thresholds_, 8).tolist()})
        elif target.min() == target.max():  # the class is absent from the calibration rows: leave it as it is
            per_class.append({"coef": 1.0, "intercept": 0.0})
        else:
            from sklearn.linear_model import LogisticRegression

            # Platt's smoothed targets keep the slope finite when the rows are separable (often, after boosting);
            # a soft target t is the row twice, as 1 with weight t and as 0 with weight 1 - t
            n_pos = target.sum()
            soft = np.where(target == 1, (n_pos + 1) / (n_pos + 2), 1 / (len(target) - n_pos + 2))
            logit = np.log(np.clip(p, 1e-12, 1.0)) - np.log(np.clip(1.0 - p, 1e-12, 1.0))
            platt = LogisticRegression(C=1e6).fit(np.concatenate([logit, logit])[:, None],
                                                  np.r_[np.ones(len(p)), np.zeros(len(p))],
                                                  sample_weight=np.r_[soft, 1 - soft])
            per_class.append({"coef": round(float(platt.coef_[0, 0]), 8), "intercept": round(float(platt.intercept_[0]), 8)})
    return {"method": method, "per_class": per_class, "n_rows": len(y)}


def calibrate_classifier(P_cal, y_cal, P_val, y_val, method: str) -> tuple[dict[str, Any], dict[str, float]]:
    """Fit the calibration on the calibration rows; ``auto`` keeps the best on the validation rows.

    Returns ``(calibration, tried)`` where ``tried`` maps each candidate to its validation log loss.
    """
    if method == "none" or P_cal is None or len(y_cal) < MIN_CALIBRATION_ROWS:
        reason = "not asked for" if method == "none" else f"fewer than {MIN_CALIBRATION_ROWS} calibration rows"
        return {"method": "none", "reason": reason}, {}
    candidates = [{"method": "none"}] if method == "auto" else []
    candidates += [_fit_map(m, P_cal, y_cal) for m in (("sigmoid", "isotonic") if method == "auto" else (method,))]
    tried = {c["method"]: round(_log_loss(y_val, apply_calibration(c, P_val)), 5) for c in candidates}
    best = min(candidates, key=lambda c: tried[c["method"]])
    return best, tried


def _log_loss(y, P) -> float:
    from sklearn.metrics import log_loss

    return float(log_loss(y, P, labels=list(range(P.shape[1]))))


def classification_metrics(y, P, classes: list[str], *, brief: bool = False) -> dict[str, Any]:
    """Accuracy, macro-F1, log loss, ECE (top label, 10 bins), AUC (binary; one-vs-rest macro) and Brier (binary)."""
    import numpy as np
    from sklearn.metrics import f1_score, roc_auc_score

    from ...ml.calibration import expected_calibration_error

    pred = P.argmax(axis=1)
    out: dict[str, Any] = {
        "accuracy": round(float((pred == y).mean()), 4),
        "log_loss": round(_log_loss(y, P), 4),
        "ece": round(expected_calibration_error(P, y), 4),
    }
    present = set(np.unique(y).tolist())
    if len(classes) == 2 and present == {0, 1}:
        out["auc"] = round(float(roc_auc_score(y, P[:, 1])), 4)
        out["brier"] = round(float(np.mean((P[:, 1] - y) ** 2)), 4)
    elif len(classes) > 2 and present == set(range(len(classes))):
        out["auc"] = round(float(roc_auc_score(y, P, multi_class="ovr", labels=list(range(len(classes))))), 4)
    if not brief:
        out["macro_f1"] = round(float(f1_score(y, pred, labels=list(range(len(classes))), average="macro",
                                               zero_division=0)), 4)
        out["n"] = len(y)
    return out


def conformal_interval(residuals, coverage: float) -> dict[str, Any] | None:
    """Split-conformal half-width: the ceil((n+1)·coverage)-th smallest absolute residual (None: too few rows)."""
    import numpy as np

    n = len(residuals)
    if n == 0 or math.ceil((n + 1) * coverage) > n:
        return None
    q = float(np.sort(residuals)[math.ceil((n + 1) * coverage) - 1])
    return {"coverage": coverage, "half_width": round(q, 6), "n_rows": n}


def regression_metrics(y, pred, interval: dict[str, Any] | None) -> dict[str, Any]:
    """MAE, RMSE, R², and the interval's coverage and width on these rows."""
    import numpy as np
    from sklearn.metrics import r2_score

    err = pred - y
    out: dict[str, Any] = {
        "mae": round(float(np.abs(err).mean()), 4),
        "rmse": round(float(np.sqrt((err ** 2).mean())), 4),
        "r2": round(float(r2_score(y, pred)), 4) if len(y) > 1 else None,
        "n": len(y),
    }
    if interval:
        out["interval_coverage"] = round(float((np.abs(err) <= interval["half_width"]).mean()), 4)
        out["interval_width"] = round(2 * interval["half_width"], 4)
    return out
