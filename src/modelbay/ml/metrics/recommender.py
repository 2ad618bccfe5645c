"""The "recommendation" metric family: top-k lists of items against each user's later items.

Each truth is the items a user went on to interact with (a list of ids), each prediction the
ranked ids recommended to them; ``k`` (default 10) is the cut-off.

- ``ndcg@k``: DCG of the top k with binary gains over the ideal DCG of min(k, relevant) hits;
- ``recall@k``: hits in the top k / min(k, relevant) (capped, so a user with 200 later items can still score 1);
- ``precision@k``: hits / k; ``hit_rate@k``: share of users with at least one hit;
- ``map@k``: mean over users of AP@k = sum of precision@r at each hit r <= k / min(k, relevant);
- ``coverage@k``: distinct items recommended to anyone / catalog size (``extra["catalog_size"]`` or
  the outputs' ``catalog_size``), the share of the catalog the recommender ever shows.

Users without relevant items are skipped (counted in ``users_without_relevant``).

>>> m = recommendation([["a", "c"], ["b"]], [["a", "b", "c"], ["c", "a"]], {"k": 2, "catalog_size": 4})
>>> round(m["ndcg@2"], 4), m["recall@2"], m["hit_rate@2"], m["coverage@2"]
(0.3066, 0.25, 0.5, 0.75)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...core.errors import BadInput
from .common import check_pairs, choose_headline, family, mean_stats

_KEYS = ("ndcg", "recall", "precision", "map", "hit_rate")


def _k(extra: dict | None) -> int:
    k = int((extra or {}).get("k", 10))
    if k < 1:
        raise BadInput(f"k must be at least 1, got {k}")
    return k


def _ids(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        import json

        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else [x.strip() for x in text.split(",") if x.strip()]
        except ValueError:
            raise BadInput(f"{what}: expected a list of item ids, got {value!r:.60}") from None
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise BadInput(f"{what}: expected a list of item ids, got {type(value).__name__}")
    out: list[str] = []
    for x in value:
        x = x.get("item_id", x.get("id")) if isinstance(x, dict) else getattr(x, "item_id", x)
        out.append(str(x))
    return list(dict.fromkeys(out))  # a repeated id counts once, at its best rank


def _rows(truths, preds, k: int) -> list[dict[str, float] | None]:
    rows: list[dict[str, float] | None] = []
    for i, (t, p) in enumerate(zip(truths, preds)):
        relevant, ranked = set(_ids(t, f"truth {i}")), _ids(p, f"prediction {i}")[:k]
        if not relevant:
            rows.append(None)
            continue
        ideal = min(k, len(relevant))
        hits, dcg, precisions = 0, 0.0, 0.0
        for r, item in enumerate(ranked):
            if item in relevant:
                hits += 1
                dcg += 1 / math.log2(r + 2)
                precisions += hits / (r + 1)
        idcg = sum(1 / math.log2(r + 2) for r in range(ideal))
        rows.append({"ndcg": dcg / idcg, "recall": hits / ideal, "precision": hits / k, "map": precisions / ideal,
                     "hit_rate": float(hits > 0)})
    return rows


def _stats(truths, preds, extra, headline):
    k = _k(extra)
    key = next((name for name in _KEYS if headline == f"{name}@{k}"), None)
    if key is None:
        return None
    return mean_stats([math.nan if r is None else r[key] for r in _rows(truths, preds, k)])


def _severity(truths, preds, extra):
    return [None if r is None or r["ndcg"] >= 1 else 1 - r["ndcg"] for r in _rows(truths, preds, _k(extra))]


def _catalog_size(extra: dict | None) -> int | None:
    extra = extra or {}
    size = extra.get("catalog_size")
    if size is None:
        outputs = extra.get("outputs") or []
        size = getattr(outputs[0], "catalog_size", None) if outputs else None
    return int(size) if size else None


@family(stats=_stats, severity=_severity)
def recommendation(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """NDCG@k, Recall@k, Precision@k, MAP@k, hit rate and catalog coverage of top-k recommendations."""
    n = check_pairs(truths, predictions)
    k = _k(extra)
    rows = [r for r in _rows(truths, predictions, k) if r is not None]
    if not rows:
        raise BadInput("no user has a relevant item, so recommendation metrics are undefined")
    result: dict[str, Any] = {"n": n, "k": k}
    result.update({f"{key}@{k}": sum(r[key] for r in rows) / len(rows) for key in _KEYS})
    shown = {item for i, p in enumerate(predictions) for item in _ids(p, f"prediction {i}")[:k]}
    size = _catalog_size(extra)
    result[f"coverage@{k}"] = len(shown) / size if size else None
    result["distinct_items_recommended"] = len(shown)
    result["users_without_relevant"] = n - len(rows)
    return choose_headline(result, f"ndcg@{k}", extra)
