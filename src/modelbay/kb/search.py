"""The in-memory search index of a knowledge base and its ranking: BM25, dense cosine, and their RRF fusion.

:class:`SearchIndex` is built from one snapshot of the SQLite file (the BM25 terms were computed at
ingestion, so loading tokenises nothing) and never changes: a newer snapshot builds a new index
that replaces it, so searches running meanwhile keep a consistent one.

Hybrid ranking is reciprocal rank fusion (Cormack et al. 2009): each chunk scores
``sum(1 / (RRF_K + rank))`` over the BM25 and dense rankings it appears in (the top
``candidates`` of each). Ranks, not scores, are fused, so BM25's unbounded scores and cosines
need no calibration against each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lexical import LexicalIndex

RRF_K = 60
MIN_CANDIDATES = 50


@dataclass(frozen=True)
class Ranked:
    """One hit: the row in the index, the mode's score, and both raw scores."""

    row: int
    score: float
    dense_score: float | None
    bm25_score: float


class SearchIndex:
    """Chunks of one snapshot: their metadata, a BM25 index and an ``(n, dim)`` matrix of unit vectors."""

    def __init__(self, generation: int, rows: list[tuple]) -> None:
        self.generation = generation
        # (chunk id, document id, source, position, section, page, text)
        self.chunks = [row[:7] for row in rows]
        self.lexical = LexicalIndex([(row[7] or "").split() for row in rows])
        self.vectors: np.ndarray | None = None
        if rows and all(row[8] is not None for row in rows):
            dim = len(rows[0][8]) // 4  # float32
            self.vectors = np.frombuffer(b"".join(row[8] for row in rows), dtype=np.float32).reshape(len(rows), dim)

    def __len__(self) -> int:
        return len(self.chunks)

    def rank(self, query_terms: list[str], query_vector: np.ndarray | None, k: int, mode: str) -> list[Ranked]:
        """The top ``k`` rows for ``mode`` (``hybrid``, ``bm25`` or ``dense``), best first."""
        if not self.chunks:
            return []
        bm25 = self.lexical.scores(query_terms) if mode != "dense" else None
        dense = self.vectors @ query_vector if query_vector is not None and self.vectors is not None else None
        if mode == "hybrid" and dense is not None and bm25 is not None:
            bm25_rows, dense_rows = _top(bm25, _depth(k), positive=True), _top(dense, _depth(k))
            fused: dict[int, float] = {}
            for rows in (bm25_rows, dense_rows):
                for rank, row in enumerate(rows, start=1):
                    fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (RRF_K + rank)
            order = sorted(fused, key=lambda r: (-fused[r], -float(dense[r])))[:k]
            scores = {r: fused[r] for r in order}
        elif mode == "dense" or (mode == "hybrid" and bm25 is None):
            if dense is None:
                return []
            order = [int(r) for r in _top(dense, k)]
            scores = {r: float(dense[r]) for r in order}
        else:  # bm25, or hybrid in a knowledge base without a dense index
            order = [int(r) for r in _top(bm25, k, positive=True)]
            scores = {r: float(bm25[r]) for r in order}
        if bm25 is None and query_terms:
            bm25 = self.lexical.scores(query_terms)
        return [Ranked(r, scores[r], None if dense is None else float(dense[r]),
                       0.0 if bm25 is None else float(bm25[r])) for r in order]


def _depth(k: int) -> int:
    return max(MIN_CANDIDATES, 4 * k)


def _top(scores: np.ndarray, k: int, *, positive: bool = False) -> np.ndarray:
    """Indices of the ``k`` largest scores, best first (ties by row order); only scores > 0 if ``positive``."""
    candidates = np.flatnonzero(scores > 0) if positive else np.arange(len(scores))
    if len(candidates) > k:
        part = np.argpartition(-scores[candidates], k - 1)[:k]
        candidates = candidates[part]
    return candidates[np.lexsort((candidates, -scores[candidates]))]
