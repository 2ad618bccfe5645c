"""Contexts (``{"segment": "new", "basket_eur": 42.0}``) to feature vectors, learnt from a logged table.

Numbers are standardised with the training mean and standard deviation (clipped to ±5); anything else is a
category, one-hot over the values seen in training (an unseen value, or a missing key, is all
zeros: "none of the known ones"). A constant 1 comes first, so every action has an intercept.
The encoder is stored as JSON in the model directory and rebuilt from it, so run time encodes
exactly as training did.

>>> enc = ContextEncoder.fit([{"segment": "new", "age": 30}, {"segment": "loyal", "age": 50}])
>>> enc.dim, enc.names
(4, ['1', 'age', 'segment=loyal', 'segment=new'])
>>> enc.transform([{"segment": "new", "age": 40}]).tolist()
[[1.0, 0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: most distinct values one categorical column may have (more: hash or bucket it first)
MAX_CATEGORIES = 1000
#: standardised numbers are clipped to ± this many standard deviations, so rare extremes cannot dominate
CLIP_SD = 5.0


def _category(value: Any) -> str:
    """A category's name: ``1``, ``1.0`` and ``"1"`` are one category (CSV cells and JSON numbers agree)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number_or_nan(value: Any) -> float:
    return float(value) if _is_number(value) else math.nan


class ContextEncoder:
    def __init__(self, numeric: dict[str, tuple[float, float]], categorical: dict[str, list[str]]) -> None:
        self.numeric = numeric            # column -> (mean, standard deviation)
        self.categorical = categorical    # column -> known values, sorted
        self.names = ["1", *numeric, *(f"{c}={v}" for c, values in categorical.items() for v in values)]
        self.dim = len(self.names)
        self._offsets: dict[str, dict[str, int]] = {}
        pos = 1 + len(numeric)
        for col, values in categorical.items():
            self._offsets[col] = {v: pos + i for i, v in enumerate(values)}
            pos += len(values)

    @classmethod
    def fit(cls, contexts: Sequence[dict[str, Any]]) -> ContextEncoder:
        """Columns whose every present value is a number are numeric; the rest categorical."""
        import numpy as np

        columns = sorted({k for ctx in contexts for k in ctx})
        numeric: dict[str, tuple[float, float]] = {}
        categorical: dict[str, list[str]] = {}
        for col in columns:
            present = [ctx[col] for ctx in contexts if ctx.get(col) is not None]
            if present and all(_is_number(v) for v in present):
                values = np.asarray(present, dtype=np.float64)
                std = float(values.std())
                numeric[col] = (float(values.mean()), std if std > 0 else 1.0)
            else:
                known = sorted({_category(v) for v in present})
                if len(known) > MAX_CATEGORIES:
                    from ...core.errors import BadInput

                    raise BadInput(f"context column {col!r} has {len(known)} distinct values; at most "
                                   f"{MAX_CATEGORIES} are one-hot encoded",
                                   hint="bucket or drop it (--param drop_cols=...)")
                categorical[col] = known
        return cls(numeric, categorical)

    def transform(self, contexts: Sequence[dict[str, Any]]):
        """An ``(n, dim)`` float64 array."""
        import numpy as np

        x = np.zeros((len(contexts), self.dim))
        x[:, 0] = 1.0
        for j, (col, (mean, std)) in enumerate(self.numeric.items(), start=1):
            values = np.array([_number_or_nan(ctx.get(col)) for ctx in contexts], dtype=np.float64)
            scaled = np.clip((values - mean) / std, -CLIP_SD, CLIP_SD)
            x[:, j] = np.where(np.isnan(scaled), 0.0, scaled)
        for col, offsets in self._offsets.items():
            for i, ctx in enumerate(contexts):
                value = ctx.get(col)
                pos = offsets.get(_category(value)) if value is not None else None
                if pos is not None:
                    x[i, pos] = 1.0
        return x

    def to_json(self) -> dict[str, Any]:
        return {"numeric": {k: list(v) for k, v in self.numeric.items()}, "categorical": self.categorical}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContextEncoder:
        return cls({k: (float(v[0]), float(v[1])) for k, v in data["numeric"].items()},
                   {k: [str(x) for x in v] for k, v in data["categorical"].items()})
