"""The decision threshold: flag a row when its calibrated risk is at least the threshold.

Two policies, chosen at training time and recorded with the reason in ``risk.json`` and the card:

* ``cost_ratio`` = c, the cost of a missed positive (a bad loan approved, a fraud let through)
  over the cost of a false flag. With calibrated probabilities, flagging a row of risk p costs
  (1 - p) on average and passing it costs c * p, so the cheaper choice is to flag when
  p >= 1 / (1 + c): the Bayes threshold, no search needed. The default is c = 1 (threshold 0.5).
* ``precision_target`` = q: the lowest threshold whose flagged calibration rows are at least a
  share q of positives (so the most positives are caught at that precision). When no threshold
  reaches q the one of highest precision is taken and the card says so.

>>> cost_threshold(4.0)["value"]
0.2
>>> import numpy as np
>>> precision_threshold(np.array([0, 0, 0, 1, 0, 1, 1, 1, 1, 1]), np.arange(10) / 10, 0.85)["value"]
0.3
"""

from __future__ import annotations

from typing import Any

from ...core.errors import BadInput

#: a precision threshold must flag at least this many calibration rows (fewer: the precision is noise)
MIN_FLAGGED_ROWS = 5


def cost_threshold(cost_ratio: float) -> dict[str, Any]:
    if not cost_ratio > 0:
        raise BadInput(f"cost_ratio {cost_ratio}: expected a number > 0 (the cost of a missed positive over a false flag)")
    value = 1.0 / (1.0 + cost_ratio)
    return {"value": round(value, 6), "policy": "cost_ratio", "cost_ratio": cost_ratio,
            "why": (f"a missed positive costs {cost_ratio:g}x a false flag, so flagging is cheaper on average "
                    f"when the calibrated risk p satisfies c*p >= 1-p, i.e. p >= 1/(1+{cost_ratio:g}) = {value:.4g}")}


def precision_threshold(y, p, target: float) -> dict[str, Any]:
    """The lowest threshold with precision >= ``target`` on (``y``, ``p``), the calibration rows."""
    import numpy as np

    if not 0 < target < 1:
        raise BadInput(f"precision_target {target}: expected a share between 0 and 1, e.g. 0.8")
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    hits, flagged = np.cumsum(ys), np.arange(1, len(ys) + 1)
    # a threshold sits at a distinct score: the last row of each run of equal scores
    last = np.r_[ps[1:] != ps[:-1], True]
    candidates = np.flatnonzero(last & (flagged >= MIN_FLAGGED_ROWS))
    if not len(candidates):
        raise BadInput(f"too few calibration rows ({len(p)}) to choose a threshold for precision_target",
                       hint="train on more rows, or use cost_ratio")
    precision = hits[candidates] / flagged[candidates]
    ok = candidates[precision >= target]
    reached = bool(len(ok))
    i = ok[-1] if reached else candidates[int(np.argmax(precision))]
    value, prec, recall = float(ps[i]), float(hits[i] / flagged[i]), float(hits[i] / max(ys.sum(), 1))
    why = (f"the lowest threshold whose flagged calibration rows reach precision {target:g} "
           f"(there: precision {prec:.3f}, recall {recall:.3f}, {flagged[i]} of {len(p)} rows flagged)")
    if not reached:
        why = (f"no threshold reaches precision {target:g} on the calibration rows; this one has the highest "
               f"precision ({prec:.3f}, recall {recall:.3f}, {flagged[i]} of {len(p)} rows flagged)")
    return {"value": round(value, 6), "policy": "precision_target", "precision_target": target,
            "reached": reached, "why": why}


def choose_threshold(y_cal, p_cal, cost_ratio: float | None, precision_target: float | None) -> dict[str, Any]:
    """The threshold for the options given (``cost_ratio`` 1 when neither is)."""
    if cost_ratio is not None and precision_target is not None:
        raise BadInput("give cost_ratio or precision_target, not both")
    if precision_target is not None:
        return precision_threshold(y_cal, p_cal, precision_target)
    return cost_threshold(1.0 if cost_ratio is None else cost_ratio)
