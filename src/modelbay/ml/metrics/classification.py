"""The "classification" metric family: scikit-learn's scores, ROC/PR one-vs-rest, calibration."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from .common import check_pairs, choose_headline, family

#: most points kept per ROC/PR curve (enough for a plot; keeps metrics.json small)
MAX_CURVE_POINTS = 200


def _scores(extra: dict, n: int) -> list[dict[str, float]] | None:
    """Per-label probabilities: ``extra["scores"]`` or the ``.scores`` of ``extra["outputs"]``."""
    scores = extra.get("scores")
    if scores is None and extra.get("outputs") is not None:
        scores = [getattr(o, "scores", None) for o in extra["outputs"]]
    if scores is None or len(scores) != n or not all(isinstance(s, dict) and s for s in scores):
        return None
    return [{str(k): float(v) for k, v in s.items()} for s in scores]


def _confidences(extra: dict, preds: list[str], scores: list[dict] | None) -> list[float] | None:
    if scores is not None:
        return [s.get(p, max(s.values())) for s, p in zip(scores, preds)]
    if extra.get("confidences") is not None:
        return [float(c) for c in extra["confidences"]]
    outputs = extra.get("outputs")
    if outputs is not None and all(isinstance(getattr(o, "score", None), (int, float)) for o in outputs):
        return [float(o.score) for o in outputs]
    return None


def _stats(truths, preds, extra, headline):
    import numpy as np

    if headline != "accuracy":
        return None
    correct = np.array([str(t) == str(p) for t, p in zip(truths, preds)], dtype=float)
    return np.stack([correct, np.ones_like(correct)], axis=1), _ratio


def _ratio(sums):
    return sums[:, 0] / sums[:, 1]


def _severity(truths, preds, extra):
    preds = [str(p) for p in preds]
    conf = _confidences(extra or {}, preds, _scores(extra or {}, len(preds))) or [1.0] * len(preds)
    return [None if str(t) == p else c for t, p, c in zip(truths, preds, conf)]


@family(stats=_stats, severity=_severity)
def classification(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """Accuracy, macro/micro/weighted precision-recall-F1, per class, confusion matrix (rows = truth), and,
    when per-label probabilities are given (``extra["scores"]`` or outputs' ``.scores``), ROC-AUC and
    PR-AUC one-vs-rest with their curves, Brier score, log loss and calibration (ECE over
    ``extra["bins"]`` equal-width confidence bins, 10 by default).

    >>> m = classification(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    >>> m["headline"], m["accuracy"], round(m["macro_f1"], 4), m["confusion_matrix"]
    ('accuracy', 0.75, 0.7333, [[1, 1], [0, 2]])
    >>> m = classification(["a", "b"], ["a", "a"], {"scores": [{"a": 0.9, "b": 0.1}, {"a": 0.6, "b": 0.4}]})
    >>> m["roc_auc"], round(m["ece"], 3)
    (1.0, 0.35)
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    extra = extra or {}
    n = check_pairs(truths, predictions)
    y_true = [str(t) for t in truths]
    y_pred = [str(p) for p in predictions]
    scores = _scores(extra, n)
    labels = [str(x) for x in (extra.get("labels") or (list(scores[0]) if scores else []))]
    labels += sorted((set(y_true) | set(y_pred)) - set(labels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "a single label was found": labels= already covers it
        p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
        result: dict[str, Any] = {"n": n, "accuracy": sum(a == b for a, b in zip(y_true, y_pred)) / n}
        for avg in ("macro", "micro", "weighted"):
            ap, ar, af, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=avg, zero_division=0)
            result.update({f"{avg}_precision": float(ap), f"{avg}_recall": float(ar), f"{avg}_f1": float(af)})
        result["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    result["per_class"] = {label: {"precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
                           for label, a, b, c, d in zip(labels, p, r, f, s)}
    result["labels"] = labels
    if scores is not None:
        result.update(_probability_metrics(y_true, scores, labels))
    confidences = _confidences(extra, y_pred, scores)
    if confidences is not None:
        result.update(calibration(confidences, [a == b for a, b in zip(y_true, y_pred)], int(extra.get("bins", 10))))
    return choose_headline(result, "accuracy", extra)


def _probability_metrics(y_true: list[str], scores: list[dict[str, float]], labels: list[str]) -> dict[str, Any]:
    import numpy as np
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    probs = np.array([[s.get(label, 0.0) for label in labels] for s in scores])
    onehot = np.array([[t == label for label in labels] for t in y_true], dtype=float)
    per_class, roc, pr = {}, {}, {}
    for j, label in enumerate(labels):
        positives = onehot[:, j]
        if not 0 < positives.sum() < len(positives):
            continue  # AUC is undefined for a class that is always or never the truth
        fpr, tpr, _ = roc_curve(positives, probs[:, j])
        precision, recall, _ = precision_recall_curve(positives, probs[:, j])
        auc = float(roc_auc_score(positives, probs[:, j]))
        ap = float(average_precision_score(positives, probs[:, j]))
        per_class[label] = {"roc_auc": auc, "pr_auc": ap, "prevalence": float(positives.mean())}
        roc[label] = {"fpr": _thin(fpr), "tpr": _thin(tpr), "auc": auc}
        pr[label] = {"recall": _thin(recall), "precision": _thin(precision), "ap": ap}
    clipped = np.clip((probs * onehot).sum(axis=1), 1e-15, 1.0)
    out: dict[str, Any] = {
        "brier": float(((probs - onehot) ** 2).sum(axis=1).mean()),
        "log_loss": float(-np.log(clipped).mean()),
        "per_class_auc": per_class,
        "curves": {"roc": roc, "pr": pr},
    }
    if per_class:
        out["roc_auc"] = float(np.mean([v["roc_auc"] for v in per_class.values()]))
        out["pr_auc"] = float(np.mean([v["pr_auc"] for v in per_class.values()]))
    return out


def _thin(values) -> list[float]:
    import numpy as np

    values = np.asarray(values, dtype=float)
    if len(values) > MAX_CURVE_POINTS:
        values = values[np.unique(np.linspace(0, len(values) - 1, MAX_CURVE_POINTS).round().astype(int))]
    return [round(float(v), 6) for v in values]


def calibration(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> dict[str, Any]:
    """Expected calibration error and the reliability table (equal-width bins, each ``(low, high]``).

    ECE = sum over bins of (items in bin / n) * |accuracy in bin - mean confidence in bin|.

    >>> c = calibration([0.9, 0.9, 0.6, 0.6], [True, False, True, True], bins=10)
    >>> round(c["ece"], 3), [b["count"] for b in c["reliability"] if b["count"]]
    (0.4, [2, 2])
    """
    from ..calibration import reliability

    result = reliability(confidences, correct, bins)
    return {"ece": result["ece"], "mean_confidence": result["mean_confidence"], "reliability": result["table"]}
