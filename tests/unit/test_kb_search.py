"""Ranking of the in-memory index: BM25, dense and their reciprocal rank fusion."""

from __future__ import annotations

import numpy as np
import pytest

from modelbay.kb.search import RRF_K, SearchIndex


def _index(chunks: list[tuple[str, list[float]]]) -> SearchIndex:
    rows = []
    for i, (terms, vector) in enumerate(chunks):
        v = np.asarray(vector, dtype=np.float32)
        v /= np.linalg.norm(v)
        rows.append((i + 1, 1, "/doc.md", i, None, None, f"chunk {i}", terms, v.tobytes()))
    return SearchIndex(7, rows)


def test_rrf_fuses_ranks_of_both_retrievers():
    index = _index([("refund polici", [1, 0, 0]), ("ship time", [0.9, 0.1, 0]), ("refund time", [0, 0, 1])])
    query = np.asarray([1, 0, 0], dtype=np.float32)
    ranked = index.rank(["refund"], query, k=3, mode="hybrid")
    # BM25 ranks 0 then 2 (row 1 has no shared term); dense ranks 0, 1, 2
    expected = {0: 2 / (RRF_K + 1), 1: 1 / (RRF_K + 2), 2: 1 / (RRF_K + 2) + 1 / (RRF_K + 3)}
    assert [r.row for r in ranked] == [0, 2, 1]
    assert [r.score for r in ranked] == pytest.approx([expected[0], expected[2], expected[1]])
    assert ranked[2].bm25_score == 0.0 and ranked[2].dense_score == pytest.approx(0.9 / np.hypot(0.9, 0.1))


def test_single_modes_rank_by_their_own_score_and_bm25_needs_a_shared_term():
    index = _index([("a b", [1, 0]), ("c d", [0, 1])])
    query = np.asarray([0.6, 0.8], dtype=np.float32)
    assert [r.row for r in index.rank(["c"], query, k=2, mode="bm25")] == [1]
    dense = index.rank(["c"], query, k=2, mode="dense")
    assert [r.row for r in dense] == [1, 0] and dense[0].score == pytest.approx(0.8)
    assert dense[0].bm25_score > 0  # the raw BM25 score is reported in every mode


def test_an_empty_index_finds_nothing():
    assert SearchIndex(1, []).rank(["x"], None, k=5, mode="hybrid") == []
