"""Per-decision reasons: the features that moved a row's risk most, as data and as a sentence.

>>> reason_text("debt_ratio", 0.91, 0.1234)
'debt_ratio = 0.91 raised the risk by 0.12'
>>> reason_text("Home", None, -0.004)
'Home missing lowered the risk by 0.004'
"""

from __future__ import annotations

import math
from typing import Any

#: a contribution smaller than this (in probability) is not a reason
MIN_CONTRIBUTION = 1e-6


def shown_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def amount(value: float) -> str:
    """A probability change for a sentence: two decimals, or one significant digit below 0.01."""
    a = abs(value)
    return f"{a:.2f}" if a >= 0.005 else f"{a:.1g}"


def reason_text(feature: str, value: Any, contribution: float) -> str:
    shown = shown_value(value)
    head = f"{feature} missing" if shown == "missing" else f"{feature} = {shown}"
    return f"{head} {'raised' if contribution > 0 else 'lowered'} the risk by {amount(contribution)}"


def top_reasons(names: list[str], rows: list[dict[str, Any]], contributions, log_odds,
                limits: list[int]) -> list[list[dict[str, Any]]]:
    """For each row, its ``limits[i]`` largest contributions (by size, either sign) as reason dicts.

    ``contributions`` and ``log_odds`` are (n, features) arrays from ``RiskModel.score``.
    """
    import numpy as np

    if contributions is None:
        return [[] for _ in rows]
    k = max(limits) if limits else 0
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
    out = []
    for i, (row, limit) in enumerate(zip(rows, limits)):
        reasons = []
        for j in order[i, :limit]:
            c = float(contributions[i, j])
            if abs(c) < MIN_CONTRIBUTION:
                break
            name = names[j]
            value = row.get(name)
            reasons.append({"feature": name, "value": value, "contribution": round(c, 4),
                            "log_odds": round(float(log_odds[i, j]), 4), "text": reason_text(name, value, c)})
        out.append(reasons)
    return out
