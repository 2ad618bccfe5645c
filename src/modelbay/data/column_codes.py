"""Column codes of a table for tree models: numbers as they are, text as category codes by frequency.

``encode_training_columns`` fixes the codes from a training table (the feature specs a model
stores); ``encode_rows`` turns request rows ``{column: value}`` into the same matrix layout.

>>> category_key(3.0), category_key(True), category_key(None)
('3', 'true', None)
"""

from __future__ import annotations

import math
from typing import Any

from ..core.errors import BadInput


def category_key(value: Any) -> str | None:
    """The string a categorical value is known by: 3, 3.0 and "3" are the same category."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def encode_training_columns(table, names: list[str], categorical: set[str]):
    """(X, feature specs): numbers as they are, text (and ``categorical``) as category codes by frequency."""
    import numpy as np

    X = np.full((table.n_rows, len(names)), np.nan)
    specs = []
    for j, name in enumerate(names):
        col = table.columns[name]
        if table.is_numeric(name) and name not in categorical:
            X[:, j] = col
            spec = {"name": name, "type": "numeric"}
            if not np.isnan(col).any() and len(col):  # see encode_rows: never missing in training → median
                spec["fill"] = round(float(np.median(col)), 8)
            specs.append(spec)
            continue
        keys = [category_key(v) for v in col]
        counts: dict[str, int] = {}
        for k in keys:
            if k is not None:
                counts[k] = counts.get(k, 0) + 1
        categories = sorted(counts, key=lambda c: (-counts[c], c))
        code = {c: i for i, c in enumerate(categories)}
        X[:, j] = [code[k] if k is not None else np.nan for k in keys]
        specs.append({"name": name, "type": "categorical", "categories": categories})
    return X, specs


def encode_rows(rows: list[dict[str, Any]], features: list[dict[str, Any]]):
    """Rows of ``{column: value}`` → a float64 matrix in training column order (NaN = missing).

    Categorical columns become the index of their category. A numeric column that had no missing
    values in training gets its training median (``fill``) where a row lacks it. Unknown columns and
    numeric columns given a non-number are a ``BadInput`` naming them.
    """
    import numpy as np

    index = {f["name"]: j for j, f in enumerate(features)}
    unknown = sorted({k for row in rows for k in row if k not in index})
    if unknown:
        known = [f["name"] for f in features]
        shown = ", ".join(known[:20]) + (f", … ({len(known)} in all)" if len(known) > 20 else "")
        raise BadInput(f"features: unknown column(s) {', '.join(map(repr, unknown))}; the model knows: {shown}",
                       hint="drop those columns, or retrain the model with them")
    lookups = [{c: i for i, c in enumerate(f.get("categories", []))} for f in features]
    X = np.full((len(rows), len(features)), np.nan)
    for i, row in enumerate(rows):
        for name, value in row.items():
            j = index[name]
            if features[j]["type"] == "categorical":
                code = lookups[j].get(category_key(value))
                if code is not None:
                    X[i, j] = code
            elif value is not None:
                X[i, j] = _number(name, value)
    for j, f in enumerate(features):
        # a column never missing in training: LightGBM would read a missing value as 0, so use its training median
        if f.get("fill") is not None:
            column = X[:, j]
            column[np.isnan(column)] = f["fill"]
    return X


def _number(name: str, value: Any) -> float:
    if isinstance(value, (bool, int, float)):
        return float(value)
    text = value.strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise BadInput(f"features.{name}: expected a number, got {value!r:.60}") from None


