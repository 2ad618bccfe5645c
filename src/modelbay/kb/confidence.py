"""When a knowledge base is sure it holds an answer, and choosing its threshold from a team's own questions.

A search is *confident* (:func:`is_confident`) when the best hit's multilingual-e5-small cosine
reaches the knowledge base's threshold, or comes within ``LEXICAL_MARGIN`` of it while the best
hit shares a word with the question. Below it the assistant hands off instead of answering.

The default threshold (0.85) suits English FAQ text, but the cosines' spread depends on the
language and on the documents: e5's cosines sit high for Chinese (an unrelated Chinese question
scored 0.80 against a Chinese FAQ), so with the default a Chinese knowledge base hands off few of
the questions it cannot answer. ``KnowledgeBase.calibrate`` (``modelbay kb calibrate``) chooses the
threshold with :func:`calibrate` from questions a team has marked answerable or not, and stores it.
Each question is searched as the assistant searches (hybrid, top ``k``), and the threshold with the
highest balanced accuracy wins: the mean of the share of answerable questions answered and the share
of unanswerable ones handed off (the middle of the best range on a tie). A team that would rather
answer than hand off sets ``min_answered`` (say 0.9): the threshold then hands off as many
unanswerable questions as it can while still answering that share of the answerable ones. The
report's "after" is measured on the same questions, so it is optimistic: judge the threshold on
other questions (``modelbay eval assistant``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from ..core.errors import BadInput
from ..ml.progress import reporter

if TYPE_CHECKING:
    from .ingest import Progress
    from .models import SearchResult

#: dense cosine of the best hit below which a search is "not confident" (the assistant then hands off);
#: chosen on English, see the module docstring and :func:`calibrate` for a knowledge base's own
DEFAULT_CONFIDENCE_THRESHOLD = 0.85
#: how much lower the cosine may be when the best hit also shares a term with the query (BM25 > 0): e5's cosines
#: sit high for unrelated Chinese text (0.80), while an English paraphrase that shares a word scores 0.80-0.85
LEXICAL_MARGIN = 0.05
#: the questions of each kind calibration needs at least
MIN_QUESTIONS_EACH = 3
#: thresholds calibration tries (cosines of e5 between a question and a passage lie in about 0.7-0.95)
THRESHOLD_GRID = np.round(np.arange(0.50, 0.995, 0.005), 3)


def best_hit_shares_a_term(hits) -> bool:
    """Whether the best of ``hits`` (search order) shares a word with the query: its BM25 score is above 0."""
    return bool(hits) and hits[0].bm25_score > 0


def is_confident(confidence, shares_a_term, threshold: float):
    """The search's verdict; works on one search (floats, bools) or many (numpy arrays)."""
    return (confidence >= threshold) | (shares_a_term & (confidence >= threshold - LEXICAL_MARGIN))


class ThresholdRates(BaseModel):
    threshold: float
    answered: float = Field(..., description="share of the answerable questions the knowledge base is confident about")
    handed_off: float = Field(..., description="share of the unanswerable questions it is not confident about")
    balanced_accuracy: float = Field(..., description="the mean of answered and handed_off")


class CalibrationReport(BaseModel):
    knowledge_base: str
    answerable: int = Field(..., description="questions its documents answer")
    unanswerable: int = Field(..., description="questions they do not: handing off is right")
    before: ThresholdRates
    after: ThresholdRates = Field(..., description="with the chosen threshold, on the same questions (optimistic)")
    applied: bool = Field(..., description="whether the chosen threshold was stored in the knowledge base")


def rates(confidence: np.ndarray, shares_a_term: np.ndarray, answerable: np.ndarray, threshold: float) -> ThresholdRates:
    confident = is_confident(confidence, shares_a_term, threshold)
    answered, handed_off = float(confident[answerable].mean()), float((~confident[~answerable]).mean())
    return ThresholdRates(threshold=float(threshold), answered=round(answered, 4), handed_off=round(handed_off, 4),
                          balanced_accuracy=round((answered + handed_off) / 2, 4))


def best_threshold(confidence: np.ndarray, shares_a_term: np.ndarray, answerable: np.ndarray,
                   min_answered: float | None = None) -> float:
    """The grid threshold with the highest balanced accuracy, or with ``min_answered`` the one that hands off the
    most unanswerable questions while answering at least that share of the answerable ones; the middle one of the
    best on a tie.

    >>> best_threshold(np.array([0.9, 0.92, 0.8, 0.82]), np.zeros(4, bool), np.array([True, True, False, False]))
    0.865
    """
    found = [rates(confidence, shares_a_term, answerable, t) for t in THRESHOLD_GRID]
    if min_answered is None:
        keys = [(r.balanced_accuracy,) for r in found]
    else:  # the floor is always met at the lowest thresholds, where every question is answered
        keys = [(r.handed_off, r.answered) if r.answered >= min_answered else (-1.0, -1.0) for r in found]
    best = [i for i, key in enumerate(keys) if key == max(keys)]
    return float(THRESHOLD_GRID[best[len(best) // 2]])


def read_labelled_questions(path) -> list[tuple[str, bool]]:
    """``(question, answerable)`` from a table with ``question`` and ``answer`` columns, the file ``modelbay eval
    assistant`` reads: an empty or null answer (or none at all) marks a question the documents do not answer."""
    from ..data.loaders import cell_texts, read_table

    questions = []
    for line, row in read_table(path):
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise BadInput(f"{path}:{line}: no question in column 'question'; columns present: {sorted(row)}")
        questions.append((question.strip(), cell_texts(row.get("answer")) is not None))
    if not questions:
        raise BadInput(f"{path}: no questions")
    return questions


def search_signals(questions: Sequence[str], search: Callable[[str], SearchResult],
                   progress: Progress = None) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`is_confident` reads of each question's search: the best cosine (0 without a dense index) and
    whether the best hit shares a word with it. Search once, then judge any threshold with :func:`rates`."""
    results = []
    with reporter(progress) as rep:
        tick = rep.stage("questions", len(questions))
        for question in questions:
            results.append(search(question))
            tick(len(results))
    confidence = np.array([r.confidence if r.confidence is not None else 0.0 for r in results])
    return confidence, np.array([best_hit_shares_a_term(r.hits) for r in results], dtype=bool)


def calibrate(name: str, questions: Sequence[tuple[str, bool]], search: Callable[[str], SearchResult],
              threshold: float, *, min_answered: float | None = None, progress: Progress = None) -> CalibrationReport:
    """The threshold for knowledge base ``name`` (searched by ``search``, now at ``threshold``) from ``(question,
    answerable)`` pairs: the best balanced accuracy, or with ``min_answered`` (0-1) the most handoffs of
    unanswerable questions that still answers that share of the answerable ones. Stores nothing
    (``KnowledgeBase.calibrate`` does); ``progress`` as for ``KnowledgeBase.add`` (stage ``"questions"``)."""
    if min_answered is not None and not 0.0 <= min_answered <= 1.0:
        raise BadInput(f"min_answered is a share between 0 and 1, got {min_answered}")
    answerable = np.array([bool(a) for _, a in questions], dtype=bool)
    if answerable.sum() < MIN_QUESTIONS_EACH or (~answerable).sum() < MIN_QUESTIONS_EACH:
        raise BadInput(f"calibration needs at least {MIN_QUESTIONS_EACH} answerable and {MIN_QUESTIONS_EACH} "
                       f"unanswerable questions; got {int(answerable.sum())} and {int((~answerable).sum())}",
                       hint="add questions the documents do not answer, with an empty answer")
    confidence, shares_a_term = search_signals([q for q, _ in questions], search, progress)
    chosen = best_threshold(confidence, shares_a_term, answerable, min_answered)
    return CalibrationReport(knowledge_base=name, answerable=int(answerable.sum()),
                             unanswerable=int((~answerable).sum()),
                             before=rates(confidence, shares_a_term, answerable, threshold),
                             after=rates(confidence, shares_a_term, answerable, chosen), applied=False)
