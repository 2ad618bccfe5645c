"""The "risk" metric family: how well risk scores rank and how honest they are as probabilities.

ROC-AUC and PR-AUC (average precision) from scikit-learn; KS, the Kolmogorov-Smirnov statistic (the
largest gap between the score distributions of positives and negatives, i.e. max(TPR - FPR));
Brier score and log loss of the probabilities; and, at the decision threshold, precision, recall
and the share of rows flagged. Headline: ROC-AUC.

>>> m = risk_scores([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], threshold=0.5)
>>> m["roc_auc"], m["ks"], m["recall"], m["flagged_share"]
(0.75, 0.5, 0.5, 0.25)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.errors import BadInput
from .common import check_pairs, family


def risk_scores(y: Sequence[int], p: Sequence[float], threshold: float | None = None) -> dict[str, Any]:
    """Metrics of probabilities ``p`` of the positive class against 0/1 truths ``y``; at ``threshold`` too."""
    import numpy as np
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score, roc_curve

    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    out: dict[str, Any] = {"n": len(y), "positives": int(y.sum()), "positive_share": round(float(y.mean()), 4)}
    if 0 < y.sum() < len(y):
        fpr, tpr, _ = roc_curve(y, p)
        out.update(roc_auc=round(float(roc_auc_score(y, p)), 4), pr_auc=round(float(average_precision_score(y, p)), 4),
                   ks=round(float(np.max(tpr - fpr)), 4), log_loss=round(float(log_loss(y, p, labels=[0, 1])), 4))
    out["brier"] = round(float(np.mean((p - y) ** 2)), 4)
    if threshold is not None:
        flagged = p >= threshold
        hits = int((flagged & (y == 1)).sum())
        out.update(threshold=round(float(threshold), 6), flagged_share=round(float(flagged.mean()), 4),
                   precision=round(hits / int(flagged.sum()), 4) if flagged.any() else None,
                   recall=round(hits / int(y.sum()), 4) if y.any() else None)
    return out


def _binary(truths: Sequence, predictions: Sequence) -> tuple[list[int], list[float], float | None]:
    """(0/1 truths, risks, threshold) from label truths and predictions ``{"risk", "positive", "threshold"}``."""
    check_pairs(truths, predictions)
    first = predictions[0]
    if not isinstance(first, dict) or "risk" not in first or "positive" not in first:
        raise BadInput("the risk family scores predictions {'risk': probability, 'positive': label, 'threshold': t}")
    positive = str(first["positive"])
    return ([int(str(t) == positive) for t in truths], [float(pred["risk"]) for pred in predictions],
            first.get("threshold"))


def _severity(truths, predictions, extra):
    """A wrong decision's distance from the truth: the risk of a negative flagged, 1 - risk of a positive passed."""
    y, p, threshold = _binary(truths, predictions)
    if threshold is None:
        return [None] * len(y)
    return [None if (r >= threshold) == bool(t) else (r if not t else 1.0 - r) for t, r in zip(y, p)]


@family(severity=_severity)
def risk(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """ROC-AUC (headline), PR-AUC, KS, Brier, log loss; precision, recall and share flagged at the threshold.

    ``truths`` are labels; ``predictions`` are ``{"risk", "positive", "threshold"}`` dicts (what the
    risk-scoring task's ``prediction`` gives), so a truth equal to ``positive`` counts as 1.

    >>> risk(["bad", "good"], [{"risk": 0.9, "positive": "bad", "threshold": 0.5},
    ...                        {"risk": 0.2, "positive": "bad", "threshold": 0.5}])["roc_auc"]
    1.0
    """
    y, p, threshold = _binary(truths, predictions)
    out = risk_scores(y, p, threshold)
    out["headline"] = "roc_auc" if "roc_auc" in out else "brier"
    return out
