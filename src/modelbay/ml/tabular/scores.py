"""Validation scores of table models: classification (accuracy, log loss, ECE, AUC, Brier), regression
(MAE, RMSE, R²) and the split-conformal interval.

>>> import numpy as np
>>> conformal_interval(np.arange(1.0, 101.0), 0.9)["half_width"]
91.0
"""

from __future__ import annotations

import math
from typing import Any

from .calibrate import log_loss


def classification_metrics(y, P, classes: list[str], *, brief: bool = False) -> dict[str, Any]:
    """Accuracy, macro-F1, log loss, ECE (top label, 10 bins), AUC (binary; one-vs-rest macro) and Brier (binary)."""
    import numpy as np
    from sklearn.metrics import f1_score, roc_auc_score

    from ..calibration import expected_calibration_error

    pred = P.argmax(axis=1)
    out: dict[str, Any] = {
        "accuracy": round(float((pred == y).mean()), 4),
        "log_loss": round(log_loss(y, P), 4),
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
