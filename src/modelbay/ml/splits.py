"""The one train/validation splitter every trainer uses, its model-card entry, and small-validation warnings.

>>> train, val = stratified_split(["a", "a", "a", "b", "b", "b", "c"], 0.34, seed=0)
>>> sorted(train + val) == list(range(7)), len(val), 6 in train     # the single "c" stays in train
(True, 2, True)

Each class (or each ``(class, group)`` pair) is shuffled with ``numpy.random.default_rng(seed)`` in
sorted order and its first items go to validation, so a seed stored in the model card reproduces the
split exactly.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Hashable, Sequence
from typing import Any

from ..core.errors import BadInput

log = logging.getLogger("modelbay.train")

__all__ = ["MIN_VALIDATION_RECORDS", "split_card", "split_records", "stratified_parts", "stratified_split",
           "validation_warnings"]


def stratified_split(labels: Sequence, val_fraction: float, seed: int, *, groups: Sequence | None = None,
                     shuffle: bool = True) -> tuple[list[int], list[int]]:
    """Indices ``(train, validation)``, each sorted: every class split in the same proportion.

    A class with two or more items gives at least one to validation and keeps at least one; a class
    of one item stays in train. ``groups`` (e.g. each record's data source) stratifies on
    ``(label, group)`` pairs too, so every group is seen in validation; then each class still gets
    one validation item. ``shuffle=False`` takes each class's last items (in input order; the seed
    is unused), for time-ordered data; with one label for all items that is a plain tail split.

    >>> stratified_split(["x"] * 10, 0.2, seed=0, shuffle=False)
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    train, val = stratified_parts(labels, [val_fraction], seed, groups=groups, shuffle=shuffle)
    return train, val


def stratified_parts(labels: Sequence, held_out: Sequence[float], seed: int, *, groups: Sequence | None = None,
                     shuffle: bool = True) -> tuple[list[int], ...]:
    """Indices ``(train, *parts)``: ``held_out`` are the fractions of the parts after train (validation first).

    Within each stratum the shuffled order gives validation its items first, then the next part,
    and train the rest. Validation takes at least one item of each class of two or more; if the
    parts would leave a stratum no training item, only validation is kept (at most all but one).

    >>> [len(p) for p in stratified_parts([0] * 20, [0.15, 0.15], seed=0)]
    [14, 3, 3]
    """
    import numpy as np

    if not held_out or any(not 0 <= f < 1 for f in held_out) or sum(held_out) >= 1:
        raise BadInput(f"held-out fractions must each be in [0, 1) and sum below 1, got {list(held_out)!r}")
    if groups is not None and len(groups) != len(labels):
        raise BadInput(f"groups has {len(groups)} items for {len(labels)} labels; give one group per item")
    strata: dict[Hashable, list[int]] = {}
    for i, label in enumerate(labels):
        strata.setdefault(label if groups is None else (label, groups[i]), []).append(i)
    rng = np.random.default_rng(seed)
    orders = {}
    for key in sorted(strata):
        idx = np.array(strata[key])
        if shuffle:
            rng.shuffle(idx)
        orders[key] = idx if shuffle else idx[::-1]  # unshuffled: validation is the tail
    sizes = {key: _part_sizes(len(idx), held_out, 1 if groups is None else 0) for key, idx in orders.items()}
    if groups is not None:
        _one_validation_item_per_class(orders, sizes)
    parts: list[list[int]] = [[] for _ in range(len(held_out) + 1)]
    for key, idx in orders.items():
        start = 0
        for k, size in enumerate(sizes[key], 1):
            parts[k] += idx[start:start + size].tolist()
            start += size
        parts[0] += idx[start:].tolist()
    return tuple(sorted(p) for p in parts)


def _part_sizes(n: int, held_out: Sequence[float], min_validation: int) -> list[int]:
    sizes = [round(n * f) for f in held_out]
    sizes[0] = max(min_validation, sizes[0])
    if n - sum(sizes) < 1:  # keep one training item: drop the later parts, cap validation
        sizes = [min(sizes[0], n - 1)] + [0] * (len(sizes) - 1)
    return sizes


def _one_validation_item_per_class(orders: dict, sizes: dict) -> None:
    """With groups, a class of 2+ items whose strata gave validation nothing lends one from its largest stratum."""
    by_class: dict[Hashable, list] = {}
    for key in orders:
        by_class.setdefault(key[0], []).append(key)
    for keys in by_class.values():
        if sum(sizes[k][0] for k in keys) or sum(len(orders[k]) for k in keys) < 2:
            continue
        # the stratum with most training items (the first such in sorted order); _part_sizes left it one at least
        largest = max(keys, key=lambda k: len(orders[k]) - sum(sizes[k]))
        sizes[largest] = [sizes[largest][0] + 1, *sizes[largest][1:]]


def split_records(records: Sequence[dict], fractions: float | Sequence[float] = (0.8, 0.1, 0.1), *, seed: int = 0,
                  stratify_field: str | None = None) -> tuple[list[dict], ...]:
    """Records as ``(train, val, test)`` for three fractions, ``(train, val)`` for a float (the validation share).

    :func:`stratified_parts` on the values of ``stratify_field`` (one stratum without it); order
    within each part is the input order. On tiny data a part that should hold records but got none
    takes one from the largest part.

    >>> recs = [{"i": i, "y": "ab"[i % 2]} for i in range(10)]
    >>> train, val = split_records(recs, 0.2, seed=1, stratify_field="y")
    >>> len(train), len(val), sorted(r["y"] for r in val)
    (8, 2, ['a', 'b'])
    """
    import numpy as np

    fracs = [1.0 - float(fractions), float(fractions)] if isinstance(fractions, (int, float)) else [float(f) for f in fractions]
    if len(fracs) < 2 or any(f < 0 for f in fracs) or abs(sum(fracs) - 1.0) > 1e-6 or not 0 < fracs[0]:
        raise BadInput(f"fractions must be a val fraction in (0, 1) or non-negative parts summing to 1, got {fractions!r}")
    keys = []
    for i, rec in enumerate(records):
        if stratify_field is None:
            keys.append("")
        elif not isinstance(rec, dict) or rec.get(stratify_field) is None:
            raise BadInput(f"record {i}: no {stratify_field!r} to stratify on")
        else:
            keys.append(json.dumps(rec[stratify_field], sort_keys=True, default=str))
    parts = [list(p) for p in stratified_parts(keys, fracs[1:], seed)]
    rng = np.random.default_rng(seed)
    for k, f in enumerate(fracs):
        if f > 0 and not parts[k] and len(records) >= len(fracs):
            donor = max(range(len(parts)), key=lambda j: len(parts[j]))
            parts[k].append(parts[donor].pop(int(rng.integers(len(parts[donor])))))
    return tuple([records[i] for i in sorted(p)] for p in parts)


def split_card(seed: int, val_fraction: float, n_train: int, n_validation: int, *,
               stratified_by: str = "label", **more: Any) -> dict[str, Any]:
    """The model card's record of a split (``card["data"]["split"]``): enough to redo it with :func:`stratified_split`.

    >>> split_card(0, 0.1, 90, 10)
    {'method': 'stratified', 'stratified_by': 'label', 'seed': 0, 'val_fraction': 0.1, 'n_train': 90, 'n_validation': 10}
    """
    return {"method": "stratified", "stratified_by": stratified_by, "seed": seed, "val_fraction": val_fraction,
            "n_train": n_train, "n_validation": n_validation, **more}


#: validation sets smaller than this get a warning (in the log, the model card and the job's result)
MIN_VALIDATION_RECORDS = 30


def validation_warnings(n_validation: int, noun: str = "records") -> list[str]:
    """Warnings for a model card: one when ``n_validation`` held-out records are too few for metrics to mean much.

    Each warning is also logged (``modelbay.train``; the CLI shows it on stderr). Every trainer puts
    the list in its model card's ``warnings``, and a server job's result carries the card's warnings.
    The margin quoted is the 95% half-width of a proportion such as accuracy at its widest (p = 0.5).

    >>> validation_warnings(100)
    []
    >>> validation_warnings(3)[0][:60]
    'validation holds only 3 records: a score such as accuracy me'
    """
    if n_validation >= MIN_VALIDATION_RECORDS:
        return []
    remedy = (f"train on more data (at least {MIN_VALIDATION_RECORDS} {noun} held out), raise val_fraction, or score "
              "the model on a separate labelled set with `modelbay eval`")
    if n_validation <= 0:
        message = f"no {noun} were held out for validation, so the validation metrics say nothing; {remedy}"
    else:
        margin = min(1.0, 1.96 * math.sqrt(0.25 / n_validation))
        message = (f"validation holds only {n_validation} {noun}: a score such as accuracy measured on so few is "
                   f"uncertain by up to ±{margin:.2f} (95%); {remedy}")
    log.warning("warning: %s", message)
    return [message]
