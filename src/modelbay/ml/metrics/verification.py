"""The "verification" metric family: how well a distance tells same-person pairs from different-person pairs.

Truths are same/different labels of pairs (``True``/``False``, 1/0, "same"/"different", "yes"/"no");
predictions are ``{"distance", "same", "threshold"}`` dicts (face-verification's ``prediction``). A pair
with no distance (a photo without a face) counts as rejected: "different", at distance +inf.

Metrics: accuracy, TAR (true accept rate) and FAR (false accept rate) at the model's threshold; ROC AUC
of ``-distance``; TAR at FAR = 1e-2 and 1e-3 (the largest threshold whose FAR does not exceed it; with
fewer than 1/FAR different-person pairs the figure is at FAR = 0 and says so in ``far_resolution``);
EER; and the threshold with the best accuracy on these pairs. Headline: accuracy.

>>> m = verification([True, True, False, False], [{"distance": d, "threshold": 0.6} for d in (0.3, 0.5, 0.7, 0.9)])
>>> m["accuracy"], m["roc_auc"], m["best_threshold"]
(1.0, 1.0, 0.6)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.errors import BadInput
from .common import check_pairs, family

_SAME = {"1", "true", "same", "yes", "y", "match", "genuine", "positive"}
_DIFFERENT = {"0", "false", "different", "no", "n", "nonmatch", "non-match", "impostor", "negative"}


def same_label(value: Any, where: str = "truth") -> bool:
    """A pair's label as a bool: True for the same person.

    >>> same_label("yes"), same_label(0)
    (True, False)
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _SAME:
        return True
    if text in _DIFFERENT:
        return False
    raise BadInput(f"{where}: {value!r} is not a same/different label; use true/false, 1/0, same/different or yes/no")


def best_threshold(same: Sequence[bool], distances: Sequence[float]) -> tuple[float, float]:
    """``(threshold, accuracy)``: the cut with the best accuracy, half-way between neighbouring distances.

    >>> best_threshold([True, False, True, False], [0.2, 0.8, 0.4, 0.6])
    (0.5, 1.0)
    """
    import numpy as np

    y = np.asarray(same, dtype=bool)
    d = np.asarray(distances, dtype=float)
    finite = np.sort(np.unique(d[np.isfinite(d)]))
    if finite.size == 0:
        return 0.0, float((~y).mean())
    cuts = np.concatenate([[finite[0] / 2], (finite[:-1] + finite[1:]) / 2, [finite[-1] + 0.05]])
    accuracies = [float(((d <= c) == y).mean()) for c in cuts]
    best = int(np.argmax(accuracies))  # the first of equals: the strictest threshold that is as accurate
    return round(float(cuts[best]), 6), accuracies[best]


def tar_at_far(same, distances, far: float) -> tuple[float, float]:
    """``(TAR, threshold)`` at the largest threshold whose false accept rate is at most ``far``."""
    import numpy as np

    y = np.asarray(same, dtype=bool)
    d = np.asarray(distances, dtype=float)
    impostors = np.sort(d[~y])
    allowed = int(np.floor(far * impostors.size + 1e-9))  # impostor pairs that may be accepted
    # accept d <= t: t just under the (allowed+1)-th smallest impostor distance
    limit = impostors[allowed] if allowed < impostors.size else np.inf
    genuine = d[y]
    below = genuine[genuine < limit]
    # a threshold for "accept d <= t": half-way between the limit and the largest distance under it
    under = d[(d < limit) & np.isfinite(d)]
    top = float(under.max()) if under.size else 0.0
    threshold = (top + float(limit)) / 2 if np.isfinite(limit) else top
    return (float(below.size / genuine.size) if genuine.size else float("nan")), round(threshold, 6)


def verification_scores(same: Sequence[bool], distances: Sequence[float], threshold: float) -> dict[str, Any]:
    """Every metric of the family from labels, distances (inf: no face) and the model's threshold."""
    import numpy as np
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.asarray(same, dtype=bool)
    d = np.asarray(distances, dtype=float)
    accepted = d <= threshold
    out: dict[str, Any] = {"n": int(y.size), "same_pairs": int(y.sum()), "different_pairs": int((~y).sum()),
                           "no_face_pairs": int((~np.isfinite(d)).sum()), "threshold": round(float(threshold), 6),
                           "accuracy": round(float((accepted == y).mean()), 4),
                           "tar": round(float(accepted[y].mean()), 4) if y.any() else None,
                           "far": round(float(accepted[~y].mean()), 4) if (~y).any() else None}
    if y.any() and (~y).any():
        score = -np.where(np.isfinite(d), d, 1e6)
        out["roc_auc"] = round(float(roc_auc_score(y, score)), 4)
        fpr, tpr, _ = roc_curve(y, score)
        eer_at = int(np.argmin(np.abs(fpr - (1 - tpr))))
        out["eer"] = round(float((fpr[eer_at] + 1 - tpr[eer_at]) / 2), 4)
        for name, far in (("tar_at_far_1e-2", 1e-2), ("tar_at_far_1e-3", 1e-3)):
            tar, _ = tar_at_far(y, d, far)
            out[name] = round(tar, 4)
        out["far_resolution"] = round(1.0 / int((~y).sum()), 6)
    out["best_threshold"], best_accuracy = best_threshold(y, d)
    out["best_threshold_accuracy"] = round(best_accuracy, 4)
    return out


@family()
def verification(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """Accuracy (headline), TAR/FAR at the threshold, ROC AUC, TAR@FAR 1e-2/1e-3, EER, best threshold."""
    check_pairs(truths, predictions)
    same = [same_label(t, f"truth {i + 1}") for i, t in enumerate(truths)]
    distances, threshold = [], None
    for i, pred in enumerate(predictions):
        if not isinstance(pred, dict) or "distance" not in pred:
            raise BadInput(f"prediction {i + 1}: the verification family scores {{'distance', 'threshold'}} dicts")
        distances.append(float("inf") if pred["distance"] is None else float(pred["distance"]))
        threshold = pred.get("threshold", threshold)
    if threshold is None:
        raise BadInput("the verification family needs the predictions' 'threshold'")
    out = verification_scores(same, distances, float(threshold))
    out["headline"] = "accuracy"
    return out
