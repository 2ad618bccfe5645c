"""Entity-level precision, recall and F1 (exact spans), micro and macro and per type."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ...core.errors import BadInput
from .common import check_pairs, choose_headline, family, ratio


def _span(entity: Any, what: str) -> tuple[int, int, str]:
    if isinstance(entity, dict):
        start, end, label = entity.get("start"), entity.get("end"), entity.get("label", entity.get("type"))
    elif isinstance(entity, (list, tuple)) and len(entity) >= 3:
        start, end, label = entity[:3]
    else:
        start, end, label = (getattr(entity, k, None) for k in ("start", "end", "label"))
    if not isinstance(start, int) or not isinstance(end, int) or label in (None, ""):
        raise BadInput(f"{what}: expected an entity with int start, int end and a label, got {entity!r:.80}")
    return start, end, str(label)


def _entities(items: Sequence, what: str) -> list[Counter]:
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):  # a JSON cell from a CSV
            import json

            try:
                item = json.loads(item)
            except ValueError:
                raise BadInput(f"{what} {i}: expected a list of entities, got {item!r:.60}") from None
        if item and isinstance(item, (list, tuple)) and all(isinstance(t, str) for t in item):
            from seqeval.metrics.sequence_labeling import get_entities

            # BIO/IOBES tags: token-index spans, compared exactly like seqeval's default mode
            out.append(Counter((s, e + 1, t) for t, s, e in get_entities(list(item))))
        elif isinstance(item, (list, tuple)):
            out.append(Counter(_span(e, f"{what} {i}") for e in item))
        else:
            raise BadInput(f"{what} {i}: expected a list of entities, got {type(item).__name__}")
    return out


def _ner_counts(truths, preds) -> list[tuple[Counter, Counter, Counter]]:
    """Per record: (true positives, false positives, false negatives) by entity type."""
    rows = []
    for t, p in zip(_entities(truths, "truth"), _entities(preds, "prediction")):
        hit = t & p
        tp = Counter(k[2] for k in hit.elements())
        fp = Counter(k[2] for k in (p - hit).elements())
        fn = Counter(k[2] for k in (t - hit).elements())
        rows.append((tp, fp, fn))
    return rows


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _ner_stats(truths, preds, extra, headline):
    import numpy as np

    if headline != "f1":
        return None
    rows = np.array([[sum(tp.values()), sum(fp.values()), sum(fn.values())] for tp, fp, fn in _ner_counts(truths, preds)],
                    dtype=float)
    # micro F1 = 2tp / (2tp + fp + fn)
    return np.stack([2 * rows[:, 0], 2 * rows[:, 0] + rows[:, 1] + rows[:, 2]], axis=1), ratio


def _ner_severity(truths, preds, extra):
    return [(sum(fp.values()) + sum(fn.values())) or None for _, fp, fn in _ner_counts(truths, preds)]


@family(stats=_ner_stats, severity=_ner_severity)
def ner(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """Entity-level precision/recall/F1 (micro, macro over types, per type) by exact span and type match.

    Each truth/prediction is a list of entities ``{"start", "end", "label"}`` (character offsets;
    objects with those attributes work too) or a BIO tag sequence (spans via seqeval).

    >>> t = [[{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 15, "label": "LOC"}]]
    >>> p = [[{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 14, "label": "LOC"}]]
    >>> m = ner(t, p)
    >>> m["precision"], m["recall"], m["per_type"]["PER"]["f1"], m["per_type"]["LOC"]["f1"]
    (0.5, 0.5, 1.0, 0.0)
    """
    n = check_pairs(truths, predictions)
    tp, fp, fn = Counter(), Counter(), Counter()
    for a, b, c in _ner_counts(truths, predictions):
        tp.update(a)
        fp.update(b)
        fn.update(c)
    p, r, f = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    types = sorted(set(tp) | set(fp) | set(fn))
    per_type = {}
    for t in types:
        tp_, fp_, fn_ = tp[t], fp[t], fn[t]
        a, b, c = _prf(tp_, fp_, fn_)
        per_type[t] = {"precision": a, "recall": b, "f1": c, "support": tp_ + fn_}
    macro = [sum(v[k] for v in per_type.values()) / len(types) if types else 0.0 for k in ("precision", "recall", "f1")]
    result = {"n": n, "precision": p, "recall": r, "f1": f, "macro_precision": macro[0], "macro_recall": macro[1],
              "macro_f1": macro[2], "entities_true": sum(tp.values()) + sum(fn.values()),
              "entities_predicted": sum(tp.values()) + sum(fp.values()), "per_type": per_type}
    return choose_headline(result, "f1", extra)


# -- speech -------------------------------------------------------------------------------------
