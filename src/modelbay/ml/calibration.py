"""Calibration, once: the expected calibration error with its reliability table, and the softmax temperature fit.

>>> import numpy as np
>>> probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.4, 0.6]])
>>> round(expected_calibration_error(probs, np.array([0, 1, 1, 1])), 3)
0.4
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .model_files import softmax

__all__ = ["expected_calibration_error", "fit_temperature", "reliability"]


def reliability(confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> dict[str, Any]:
    """ECE and the reliability table over ``n_bins`` equal-width confidence bins, each ``(low, high]``.

    ECE = sum over bins of (items in bin / n) * |accuracy in bin - mean confidence in bin|.
    A confidence of 0 goes to the first bin.

    >>> r = reliability([0.9, 0.9, 0.6, 0.6], [True, False, True, True])
    >>> round(r["ece"], 3), [b["count"] for b in r["table"] if b["count"]]
    (0.4, [2, 2])
    """
    import numpy as np

    conf = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
    hit = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # the first edge >= conf closes its bin: exact where conf * n_bins would round up (0.3 * 10 = 3.0000000000000004)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    table, ece = [], 0.0
    for b in range(n_bins):
        mask = idx == b
        count = int(mask.sum())
        row = {"low": b / n_bins, "high": (b + 1) / n_bins, "count": count, "confidence": None, "accuracy": None}
        if count:
            row["confidence"] = float(conf[mask].mean())
            row["accuracy"] = float(hit[mask].mean())
            ece += count / len(conf) * abs(row["accuracy"] - row["confidence"])
        table.append(row)
    return {"ece": float(ece), "mean_confidence": float(conf.mean()) if len(conf) else None, "table": table}


def expected_calibration_error(probs, labels, n_bins: int = 10) -> float:
    """ECE of class probabilities ``probs`` (n, k) against integer ``labels``: top-class confidence vs accuracy."""
    import numpy as np

    probs = np.asarray(probs, dtype=float)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    return reliability(probs.max(axis=1), correct, n_bins)["ece"]


def fit_temperature(logits, labels, *, min_t: float = 0.05, max_t: float = 20.0) -> float:
    """The softmax temperature minimising validation log-loss (a grid over log T, then refined).

    >>> import numpy as np
    >>> logits = np.array([[4.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 0.0]])
    >>> 1.0 < fit_temperature(logits, np.array([0, 1, 1, 0]))       # overconfident: softened
    True
    """
    import numpy as np

    labels = np.asarray(labels)

    def nll(t: float) -> float:
        p = softmax(logits / t)
        return float(-np.log(p[np.arange(len(labels)), labels] + 1e-12).mean())

    grid = np.exp(np.linspace(np.log(min_t), np.log(max_t), 121))
    best = min(grid, key=nll)
    fine = best * np.exp(np.linspace(-0.06, 0.06, 25))
    return float(min(fine, key=nll))
