"""Helpers shared by the metric families: the family decorator, input checks, JSON-safe values."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from ...core.errors import BadInput

#: (per-item statistics of shape (n, k), reduce: sums of shape (m, k) -> m headline values)
ItemStats = tuple[Any, Callable[[Any], Any]]

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def family(*, stats: Callable[..., ItemStats | None] | None = None,
           severity: Callable[..., list[float | None]] | None = None) -> Callable:
    """Attach to a metric function what ``bootstrap_ci`` and the runner's ``worst_errors`` use.

    ``stats(truths, preds, extra, headline)`` returns per-item statistics whose column sums give
    the headline (so 1000 resamples are one vectorised sum, not 1000 metric runs), or ``None``
    when it cannot; ``severity(truths, preds, extra)`` says how wrong each item is (``None``: right).
    """
    def wrap(fn: Callable) -> Callable:
        fn.item_stats = stats
        fn.item_severity = severity
        return fn
    return wrap


def mean_stats(values) -> ItemStats:
    """Per-item values whose headline is their mean (skipping NaN)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    return np.stack([np.where(ok, v, 0.0), ok.astype(float)], axis=1), ratio


def ratio(sums):
    """``sums[:, 0] / sums[:, 1]``, NaN where the denominator is 0."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sums[:, 1] > 0, sums[:, 0] / np.where(sums[:, 1] > 0, sums[:, 1], 1), np.nan)


def check_pairs(truths: Sequence, predictions: Sequence) -> int:
    """Equal, non-zero lengths; returns the length."""
    if len(truths) != len(predictions) or not truths:
        raise BadInput(f"need equal, non-zero numbers of truths and predictions, got {len(truths)} and {len(predictions)}")
    return len(truths)


def to_float(value: Any, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{what}: expected a number, got {value!r:.60}") from None
    if not math.isfinite(out):
        raise BadInput(f"{what}: expected a finite number, got {value!r}")
    return out


def to_floats(value: Any, what: str) -> list[float]:
    """A list of numbers from a list, a number or a JSON/comma-separated string (CSV cells)."""
    if isinstance(value, str):
        import json

        text = value.strip()
        try:
            value = json.loads(text if text.startswith("[") else f"[{text}]")
        except ValueError:
            raise BadInput(f"{what}: expected numbers, got {value!r:.60}") from None
    if isinstance(value, (int, float)):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise BadInput(f"{what}: expected a non-empty list of numbers, got {value!r:.60}")
    return [to_float(v, what) for v in value]


def mostly_cjk(texts: Sequence[str]) -> bool:
    """Whether most texts contain Chinese/Japanese/Korean characters (so words are not space-separated)."""
    texts = [t for t in texts if t]
    return bool(texts) and sum(bool(_CJK.search(t)) for t in texts) * 2 > len(texts)


def choose_headline(result: dict[str, Any], default: str, extra: dict | None) -> dict[str, Any]:
    """Set ``result["headline"]``: ``extra["headline"]`` when it names a number in ``result``, else ``default``."""
    wanted = (extra or {}).get("headline")
    if wanted is not None and not isinstance(result.get(wanted), (int, float)):
        numbers = sorted(k for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
        raise BadInput(f"headline {wanted!r} is not a metric of this family; choose one of {numbers}")
    result["headline"] = wanted or default
    return result


def clean(value: Any) -> Any:
    """JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return clean(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return value
