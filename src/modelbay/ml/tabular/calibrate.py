"""Probability calibration of a boosted classifier, fitted on held-out rows and stored as plain numbers
(no pickles): isotonic maps as their breakpoints, Platt maps as a slope and an intercept on the logit.

>>> import numpy as np
>>> P = np.array([[0.8, 0.2], [0.3, 0.7]])
>>> apply_calibration({"method": "sigmoid", "per_class": [{"coef": 1.0, "intercept": 0.0}]}, P).round(2).tolist()
[[0.8, 0.2], [0.3, 0.7]]
"""

from __future__ import annotations

from typing import Any


def apply_calibration(calibration: dict[str, Any] | None, P):
    """Map raw class probabilities ``P`` (n, k) through the fitted calibration (fitted by ``calibrate_classifier``).

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
    tried = {c["method"]: round(log_loss(y_val, apply_calibration(c, P_val)), 5) for c in candidates}
    best = min(candidates, key=lambda c: tried[c["method"]])
    return best, tried


def log_loss(y, P) -> float:
    """Log loss of class probabilities ``P`` (n, k) against class indices ``y`` (every class counted)."""
    from sklearn.metrics import log_loss as sk_log_loss

    return float(sk_log_loss(y, P, labels=list(range(P.shape[1]))))


