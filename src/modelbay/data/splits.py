"""Splitting labelled records for training, and saying when the validation part is too small to trust.

>>> recs = [{"i": i, "y": "ab"[i % 2]} for i in range(10)]
>>> [len(part) for part in split_records(recs, 0.2, seed=1, stratify_field="y")]
[8, 2]
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence

from ..core.errors import BadInput

log = logging.getLogger("modelbay.train")


def split_records(records: Sequence[dict], fractions: float | Sequence[float] = (0.8, 0.1, 0.1), *, seed: int = 0,
                  stratify_field: str | None = None) -> tuple[list[dict], ...]:
    """Split records deterministically: ``(train, val, test)`` for three fractions, ``(train, val)`` for a float.

    With ``stratify_field`` every value of that field is split in the same proportions. Order
    within each part is the input order. A trainer passes the validation part's size to
    :func:`validation_warnings` and puts what it returns in its model card.

    >>> recs = [{"i": i, "y": "ab"[i % 2]} for i in range(10)]
    >>> train, val = split_records(recs, 0.2, seed=1, stratify_field="y")
    >>> len(train), len(val), sorted(r["y"] for r in val)
    (8, 2, ['a', 'b'])
    """
    import numpy as np

    fracs = [1.0 - float(fractions), float(fractions)] if isinstance(fractions, (int, float)) else [float(f) for f in fractions]
    if len(fracs) < 2 or any(f < 0 for f in fracs) or abs(sum(fracs) - 1.0) > 1e-6 or not 0 < fracs[0]:
        raise BadInput(f"fractions must be a val fraction in (0, 1) or non-negative parts summing to 1, got {fractions!r}")
    groups: dict[str, list[int]] = {}
    for i, rec in enumerate(records):
        if stratify_field is None:
            key = ""
        elif not isinstance(rec, dict) or rec.get(stratify_field) is None:
            raise BadInput(f"record {i}: no {stratify_field!r} to stratify on")
        else:
            key = json.dumps(rec[stratify_field], sort_keys=True, default=str)
        groups.setdefault(key, []).append(i)
    rng = np.random.default_rng(seed)
    bounds = np.cumsum(fracs)
    parts: list[list[int]] = [[] for _ in fracs]
    for key in sorted(groups):
        idx = np.array(groups[key])
        rng.shuffle(idx)
        cuts = [0, *(round(b * len(idx)) for b in bounds[:-1]), len(idx)]
        for k in range(len(fracs)):
            parts[k].extend(idx[cuts[k]:cuts[k + 1]].tolist())
    # tiny data: a part that should have records but got none takes one from the largest part
    for k, f in enumerate(fracs):
        if f > 0 and not parts[k] and len(records) >= len(fracs):
            donor = max(range(len(parts)), key=lambda j: len(parts[j]))
            parts[k].append(parts[donor].pop(int(rng.integers(len(parts[donor])))))
    return tuple([records[i] for i in sorted(p)] for p in parts)


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
