"""Checking a generated answer against its passages, finding what it cites, and answering without an LLM.

The grounding check is lexical on purpose: an answer whose content words (English) or
character pairs (Chinese) mostly do not occur in the passages was not taken from them,
whatever the model believes. Such an answer is replaced by the extractive one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .prompts import DONT_KNOW

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_CITATION = re.compile(r"\[(\d{1,2})\]")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
_STOPWORDS = frozenset(word for line in (
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this that",
    "these those you your we our us they them their he she his her i me my do does did not no yes can could",
    "will would shall should may might must have has had there here what which who whom when where why how",
    "than then so such about into over under up down out only also just very more most any all each per please",
    "thank thanks according passage passages",
) for word in line.split())

#: share of the answer's content units that must occur in the passages
MIN_GROUNDED_SHARE = 0.5


def content_units(text: str) -> set[str]:
    """Lower-cased English content words and Chinese character pairs (single characters for one-character runs).

    >>> sorted(content_units("Refunds take 5 days. 退货七天"))
    ['5', 'days', 'refunds', 'take', '七天', '货七', '退货']
    """
    lowered = text.lower()
    units = {w for w in _WORD.findall(lowered) if w not in _STOPWORDS}
    for run in _CJK_RUN.findall(text):
        units.update(run[i:i + 2] for i in range(max(len(run) - 1, 1)))
    return units


def grounded_share(answer: str, passages: Sequence[str]) -> float:
    """Share of the answer's content units (citations removed) found in the passages; 1.0 for an empty answer."""
    units = content_units(_CITATION.sub(" ", answer))
    if not units:
        return 1.0
    found = content_units(" ".join(passages))
    return len(units & found) / len(units)


def says_dont_know(answer: str) -> bool:
    """Whether the model answered that the passages do not say (as the prompt told it to)."""
    lowered = answer.strip().lower().replace("\u2019", "'")
    return any(phrase in lowered[:80] for phrase in DONT_KNOW)


def cited_numbers(answer: str, n_passages: int) -> list[int]:
    """The passage numbers (1-based) the answer cites as ``[n]``, in order, without repeats or out-of-range ones.

    >>> cited_numbers("Within 30 days [2][1]. See [2] and [9].", 3)
    [2, 1]
    """
    seen: list[int] = []
    for match in _CITATION.finditer(answer):
        number = int(match.group(1))
        if 1 <= number <= n_passages and number not in seen:
            seen.append(number)
    return seen


def strip_citations(answer: str) -> str:
    return re.sub(r"\s*\[\d{1,2}\]", "", answer).strip()


def best_supported(answer: str, passages: Sequence[str]) -> int:
    """1-based number of the passage sharing the most content units with the answer."""
    units = content_units(answer)
    overlaps = [len(units & content_units(p)) for p in passages]
    return overlaps.index(max(overlaps)) + 1


def extractive_answer(question: str, passage: str, max_chars: int = 600) -> str:
    """The passage's sentences that share the most with the question, in passage order, within ``max_chars``.

    An FAQ entry (its question on the first line, or "Q: …\\nA: …") answers with its answer part.
    """
    faq = re.search(r"(?:^|\n)\s*(?:A|Answer|答)\s*[:：]\s*(.+)", passage, re.DOTALL)
    first, _, rest = passage.strip().partition("\n")
    if faq:
        passage = faq.group(1).strip()
    elif rest.strip() and first.rstrip().endswith(("?", "？")):
        passage = rest.strip()
    if len(passage) <= max_chars:
        return passage.strip()
    sentences = [s for s in _SENTENCE_END.split(passage) if s.strip()]
    asked = content_units(question)
    ranked = sorted(range(len(sentences)), key=lambda i: (-len(asked & content_units(sentences[i])), i))
    chosen, size = [], 0
    for i in ranked:
        if size + len(sentences[i]) > max_chars and chosen:
            break
        chosen.append(i)
        size += len(sentences[i]) + 1
    return " ".join(sentences[i].strip() for i in sorted(chosen))[:max_chars]
