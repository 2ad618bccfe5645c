"""The knowledge base's confidence rule and the choice of its threshold from labelled questions (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from modelbay.core.errors import BadInput
from modelbay.kb.confidence import LEXICAL_MARGIN, best_threshold, is_confident, rates, read_labelled_questions


def test_a_shared_word_lowers_the_bar_by_the_margin_for_one_search_and_for_many():
    assert is_confident(0.86, False, 0.85) and not is_confident(0.83, False, 0.85)
    assert is_confident(0.85 - LEXICAL_MARGIN, True, 0.85) and not is_confident(0.79, True, 0.85)
    verdicts = is_confident(np.array([0.86, 0.83, 0.83]), np.array([False, False, True]), 0.85)
    assert verdicts.tolist() == [True, False, True]


def test_rates_count_answerable_questions_answered_and_unanswerable_ones_handed_off():
    confidence = np.array([0.90, 0.84, 0.88, 0.80])
    shares = np.array([False, False, False, False])
    answerable = np.array([True, True, False, False])
    got = rates(confidence, shares, answerable, 0.85)
    assert (got.answered, got.handed_off, got.balanced_accuracy) == (0.5, 0.5, 0.5)


def test_the_chosen_threshold_separates_what_the_default_mixes_up():
    # Chinese-like spread: unanswerable questions at 0.86-0.88 pass the default 0.85
    confidence = np.array([0.91, 0.92, 0.90, 0.86, 0.87, 0.88])
    answerable = np.array([True, True, True, False, False, False])
    shares = np.zeros(6, dtype=bool)
    chosen = best_threshold(confidence, shares, answerable)
    assert 0.88 < chosen <= 0.90
    assert rates(confidence, shares, answerable, chosen).balanced_accuracy == 1.0
    assert rates(confidence, shares, answerable, 0.85).balanced_accuracy == 0.5


def test_labelled_questions_read_the_eval_file_format(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text('{"question": "How long do refunds take?", "answer": "5 days"}\n'
                    '{"question": "Do you sell cars?", "answer": null}\n'
                    '{"question": "Who founded you?", "answer": ["", null]}\n'
                    '{"question": "Where is my parcel?", "answer": ["in transit"]}\n', encoding="utf-8")
    assert read_labelled_questions(path) == [("How long do refunds take?", True), ("Do you sell cars?", False),
                                             ("Who founded you?", False), ("Where is my parcel?", True)]
    path.write_text('{"q": "no question column"}\n', encoding="utf-8")
    with pytest.raises(BadInput, match="no question in column 'question'"):
        read_labelled_questions(path)


def test_a_floor_on_answered_questions_hands_off_as_many_as_it_allows():
    confidence = np.array([0.95, 0.93, 0.91, 0.89, 0.86, 0.88, 0.90, 0.80])
    answerable = np.array([True, True, True, True, False, False, False, False])
    shares = np.zeros(8, dtype=bool)
    free = best_threshold(confidence, shares, answerable)
    floor = best_threshold(confidence, shares, answerable, min_answered=1.0)
    assert rates(confidence, shares, answerable, floor).answered == 1.0
    assert rates(confidence, shares, answerable, floor).handed_off == 0.75  # 0.86, 0.88 and 0.80 are below 0.89
    assert floor < free  # without the floor, the 0.89 answerable question is given up to hand off 0.90
