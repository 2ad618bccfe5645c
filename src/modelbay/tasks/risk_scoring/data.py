"""Reading risk tables: the training table with its yes/no outcome, and live tables that may lack it."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...data.roots import label_counts, names

#: labels taken as "the risk" when ``positive`` is not given
POSITIVE_WORDS = ("1", "true", "yes", "bad", "default", "fraud", "churn")


def choose_positive(counts: dict[str, int], positive: str | None) -> str:
    """The label that is the risk: ``positive`` if given, else a usual word for it, else the rarer label.

    >>> choose_positive({"good": 30, "bad": 10}, None), choose_positive({"No": 90, "Yes": 10}, None)
    ('bad', 'Yes')
    """
    if positive is not None:
        key = str(positive)
        if key not in counts:
            raise BadInput(f"positive={key!r} is not a value of the label column ({names(sorted(counts), 'labels')})",
                           hint="name the label that is the risk, e.g. --param positive=bad")
        return key
    by_word = [label for label in counts if label.lower() in POSITIVE_WORDS]
    if len(by_word) == 1:
        return by_word[0]
    return min(counts, key=lambda label: (counts[label], label))


def read_training_table(data: Path, config, min_rows: int):
    """``(table, feature names, label column, y, labels, positive)``; ``y`` is 1 for the positive label.

    ``labels`` is ``[negative, positive]``, the booster's class order.
    """
    import numpy as np

    from ...data.columns import label_values, read_columns, select_columns

    table = read_columns(data, config.format)
    feature_names, label_col = select_columns(table, asdict(config))
    if table.n_rows < min_rows:
        raise BadInput(f"{data}: {table.n_rows} rows; risk scoring needs at least {min_rows}")
    unknown = sorted(set(config.categorical_cols) - set(feature_names))
    if unknown:
        raise BadInput(f"categorical_cols names {unknown}, which are not feature columns")
    targets = label_values(table, label_col, "classification")
    counts: dict[str, int] = {}
    for t in targets:
        counts[t] = counts.get(t, 0) + 1
    if len(counts) != 2 or min(counts.values()) < 10:
        raise BadInput(f"{data}: risk scoring needs exactly 2 labels with at least 10 rows each in {label_col!r}, "
                       f"got {label_counts(counts, 'rows')}",
                       hint="for more than two labels use tabular-classification")
    positive = choose_positive(counts, config.positive)
    negative = next(label for label in counts if label != positive)
    y = np.array([int(t == positive) for t in targets])
    return table, feature_names, label_col, y, [negative, positive], positive


def live_records(path: Path, options: dict[str, Any], target_field: str) -> list[dict[str, Any]]:
    """Rows of a live table as records ``{"features": row}``, with ``target_field`` where it has the label column."""
    import math

    from ...data.columns import DEFAULT_LABEL_COLS, as_list, label_values, read_columns

    table = read_columns(path, options.get("format"))
    label_col = options.get("label_col") or next((c for c in DEFAULT_LABEL_COLS if c in table.columns), None)
    if options.get("label_col") and label_col not in table.columns:
        raise BadInput(f"{path}: label_col {label_col!r} is not a column", hint="drop --label-col for a table without labels")
    drop = set(as_list(options.get("drop_cols"))) | {label_col}
    chosen = as_list(options.get("feature_cols"))
    features = chosen or [c for c in table.columns if c not in drop]
    targets = label_values(table, label_col, "classification") if label_col in table.columns else None
    records = []
    for i in range(table.n_rows):
        row = {}
        for name in features:
            v = table.columns[name][i]
            row[name] = None if (v is None or (isinstance(v, float) and math.isnan(v))) else (v if isinstance(v, str) else float(v))
        records.append({"features": row} if targets is None else {"features": row, target_field: targets[i]})
    return records
