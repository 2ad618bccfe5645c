"""Question answering over documents: did retrieval find the source, does the answer hold the reference, and
were the questions the documents cannot answer handed off.

Each truth is ``{"answer": str | list[str] | None, "source": str | None}`` (a list: any of them is right;
``answer`` None or empty: the documents do
not answer it, a handoff is right); each prediction ``{"answer", "handoff", "retrieved", "cited"}``
with ``retrieved``/``cited`` the document names, best first. A source matches a document whose
name equals it or ends with it after a ``/`` (``faq.md`` matches ``docs/faq.md``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .common import check_pairs, choose_headline, family, mean_stats
from .text import normalize_text

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def answer_units(text: str) -> list[str]:
    """Words, with each Chinese character a word of its own (SQuAD-style F1 for both languages).

    >>> answer_units("Refund: 30 days, 退货七天")
    ['refund', '30', 'days', '退', '货', '七', '天']
    """
    spaced = _CJK.sub(lambda m: f" {m.group(0)} ", normalize_text(text))
    return spaced.split()


def token_f1(reference: str, answer: str) -> float:
    ref, ans = answer_units(reference), answer_units(answer)
    common = sum((Counter(ref) & Counter(ans)).values())
    if not ref or not ans or not common:
        return float(ref == ans)
    precision, recall = common / len(ans), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains(reference: str, answer: str) -> bool:
    """Whether the normalised answer contains the normalised reference (spaces ignored around Chinese)."""
    ref, ans = "".join(answer_units(reference)), "".join(answer_units(answer))
    return bool(ref) and ref in ans


def _matches(source: str, document: str) -> bool:
    source, document = source.strip().replace("\\", "/"), document.strip().replace("\\", "/")
    return document == source or document.endswith("/" + source)


def _rank(source: str | None, retrieved: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved document matching ``source``; None if absent or no source."""
    if not source:
        return None
    return next((i for i, doc in enumerate(retrieved, start=1) if _matches(source, doc)), None)


def _references(reference: Any) -> list[str]:
    """The acceptable answers: one string, or a list of them (SQuAD gives several); [] when unanswerable."""
    values = reference if isinstance(reference, (list, tuple)) else [reference]
    return [str(v) for v in values if v is not None and str(v).strip()]


def _row(truth: dict, pred: dict, k: int) -> dict[str, float | None]:
    references, source = _references(truth.get("answer")), truth.get("source")
    handoff = bool(pred.get("handoff"))
    rank = _rank(source, pred.get("retrieved") or [])
    answerable = bool(references)
    row: dict[str, float | None] = {
        "hit": None if not source else float(rank is not None and rank <= k),
        "rr": None if not source else (1.0 / rank if rank else 0.0),
        "cited": None if not source or not answerable else float(
            any(_matches(source, d) for d in pred.get("cited") or [])),
    }
    answer = "" if handoff else str(pred.get("answer") or "")
    row.update({
        "exact": float(any(answer_units(answer) == answer_units(r) for r in references)) if answerable else None,
        "f1": max(token_f1(r, answer) for r in references) if answerable else None,
        "contains": float(any(contains(r, answer) for r in references)) if answerable else None,
        "false_handoff": float(handoff) if answerable else None,
        "handoff_right": None if answerable else float(handoff),
    })
    return row


_KEYS = {"hit@k": "hit", "mrr": "rr", "cited_source": "cited", "exact_match": "exact", "token_f1": "f1",
         "contains": "contains", "false_handoff_rate": "false_handoff", "unanswerable_handed_off": "handoff_right"}


def _rows(truths, preds, extra) -> list[dict]:
    k = int((extra or {}).get("k", 5))
    return [_row(t if isinstance(t, dict) else {"answer": t}, p, k) for t, p in zip(truths, preds)]


def _qa_stats(truths, preds, extra, headline):
    key = _KEYS.get(headline.replace(f"@{int((extra or {}).get('k', 5))}", "@k"))
    if key is None:
        return None
    return mean_stats([float("nan") if r[key] is None else r[key] for r in _rows(truths, preds, extra)])


def _qa_severity(truths, preds, extra):
    out = []
    for r in _rows(truths, preds, extra):
        if r["handoff_right"] is not None:
            out.append(None if r["handoff_right"] else 1.0)
        else:
            out.append(None if r["contains"] else 1.0 - (r["f1"] or 0.0))
    return out


@family(stats=_qa_stats, severity=_qa_severity)
def qa(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """Retrieval hit@k and MRR, answer exact match / token F1 / contains, handoff rates (means over the items
    each applies to; ``extra["k"]`` defaults to 5).

    >>> m = qa([{"answer": "30 days", "source": "faq.md"}, {"answer": None}],
    ...        [{"answer": "Within 30 days [1].", "handoff": False, "retrieved": ["docs/faq.md"], "cited": ["docs/faq.md"]},
    ...         {"answer": "Sorry", "handoff": True, "retrieved": [], "cited": []}])
    >>> m["headline"], m["contains"], m["hit@5"], m["unanswerable_handed_off"], round(m["token_f1"], 2)
    ('contains', 1.0, 1.0, 1.0, 0.67)
    """
    n = check_pairs(truths, predictions)
    k = int((extra or {}).get("k", 5))
    rows = _rows(truths, predictions, extra)
    result: dict[str, Any] = {"n": n, "k": k}
    for name, key in _KEYS.items():
        values = [r[key] for r in rows if r[key] is not None]
        result[name.replace("@k", f"@{k}")] = sum(values) / len(values) if values else None
        result[f"n_{key}"] = len(values)
    answerable = result["n_contains"]
    return choose_headline(result, "contains" if answerable else "unanswerable_handed_off", extra)
