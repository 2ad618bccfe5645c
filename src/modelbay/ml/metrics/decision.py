"""Metric family "decision": off-policy value of a policy from logged bandit data (IPS, SNIPS, DM, DR).

Each logged decision is a truth ``{"action", "reward", "propensity"}``: what the logging policy
chose, the reward it got and the probability it had of choosing it. Each prediction is the new
policy's answer on the same context: ``{"probabilities": {action: p}, "scores": {action: r̂} | None}``
(``scores``: the policy's own reward estimates, which the direct method and doubly robust use).

With ``w = π(a|x) / μ(a|x)`` (new policy's probability of the logged action over the logger's):

- ``ips``   = mean(w·r)                       unbiased if the propensities are right; high variance
- ``snips`` = Σ w·r / Σ w                     self-normalised: a little bias, much less variance
- ``dm``    = mean(Σ_a π(a|x)·r̂(x,a))         the reward model alone (biased where it is wrong)
- ``dr``    = dm + mean(w·(r − r̂(x,a)))       doubly robust: unbiased if either part is right

``logging_value`` is the mean logged reward (the logging policy's on-policy value), ``lift_<est>``
the estimate over it, ``ess`` the effective sample size (Σw)²/Σw²: few effective samples mean the
new policy rarely agrees with the logger and the estimates are noisy. Hand-written because these
are one line each, and the library that has them (Open Bandit Pipeline) needs Python < 3.11 since 0.5.

>>> truths = [{"action": "a", "reward": 1, "propensity": 0.5}, {"action": "b", "reward": 0, "propensity": 0.5}]
>>> preds = [{"probabilities": {"a": 1.0, "b": 0.0}}, {"probabilities": {"a": 1.0, "b": 0.0}}]
>>> m = decision(truths, preds)
>>> m["ips"], m["snips"], m["logging_value"], m["headline"]
(1.0, 1.0, 0.5, 'snips')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...core.errors import BadInput
from .common import check_pairs, choose_headline, family, mean_stats, ratio, to_float


def _truth(t: Any, i: int) -> tuple[str, float, float]:
    if not isinstance(t, dict) or not {"action", "reward", "propensity"} <= set(t):
        raise BadInput(f"truth {i}: expected {{'action', 'reward', 'propensity'}} of a logged decision, got {t!r:.80}")
    p = to_float(t["propensity"], f"truth {i}: propensity")
    if not 0 < p <= 1:
        raise BadInput(f"truth {i}: propensity {p} is not in (0, 1]; it is the logging policy's probability "
                       "of the logged action", hint="drop rows with propensity 0; IPS cannot use them")
    return str(t["action"]), to_float(t["reward"], f"truth {i}: reward"), p


def _pred(p: Any, i: int) -> tuple[dict[str, float], dict[str, float] | None]:
    if hasattr(p, "model_dump"):
        p = p.model_dump()
    if not isinstance(p, dict) or not isinstance(p.get("probabilities"), dict):
        raise BadInput(f"prediction {i}: expected {{'probabilities': {{action: p}}, 'scores': …}}, got {p!r:.80}")
    scores = p.get("scores")
    return ({str(k): float(v) for k, v in p["probabilities"].items()},
            {str(k): float(v) for k, v in scores.items()} if isinstance(scores, dict) and scores else None)


def item_terms(truths: Sequence, predictions: Sequence):
    """Per-item arrays: rewards, weights w, direct-method values and DR corrections (None without scores)."""
    import numpy as np

    n = check_pairs(truths, predictions)
    r, w, dm, dr = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    has_scores = True
    for i, (t, p) in enumerate(zip(truths, predictions)):
        action, reward, propensity = _truth(t, i)
        probs, scores = _pred(p, i)
        r[i], w[i] = reward, probs.get(action, 0.0) / propensity
        if scores is None:
            has_scores = False
            continue
        dm[i] = sum(pa * scores.get(a, 0.0) for a, pa in probs.items())
        dr[i] = dm[i] + w[i] * (reward - scores.get(action, 0.0))
    return r, w, (dm if has_scores else None), (dr if has_scores else None)


def _stats(truths, preds, extra, headline):
    import numpy as np

    r, w, dm, dr = item_terms(truths, preds)
    if headline == "snips":
        return np.stack([w * r, w], axis=1), ratio
    per_item = {"ips": w * r, "dm": dm, "dr": dr, "logging_value": r}.get(headline)
    return None if per_item is None else mean_stats(per_item)


@family(stats=_stats)
def decision(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """IPS, SNIPS, DM and DR estimates of the policy's value, the logging policy's value and the lifts."""
    r, w, dm, dr = item_terms(truths, predictions)
    sum_w = float(w.sum())
    out: dict[str, Any] = {
        "ips": float((w * r).mean()),
        "snips": float((w * r).sum() / sum_w) if sum_w > 0 else math.nan,
        "dm": float(dm.mean()) if dm is not None else None,
        "dr": float(dr.mean()) if dr is not None else None,
        "logging_value": float(r.mean()),
        "ess": float(sum_w ** 2 / (w ** 2).sum()) if sum_w > 0 else 0.0,
        "max_weight": float(w.max()),
        "match_rate": float((w > 0).mean()),
        "n_decisions": len(r),
    }
    base = out["logging_value"]
    for key in ("ips", "snips", "dr"):
        value = out[key]
        out[f"lift_{key}"] = value / base if value is not None and base and math.isfinite(value) else None
    return choose_headline(out, "dr" if dr is not None else "snips", extra)


__all__ = ["decision", "item_terms"]
