"""Graph ranking of a document's sentences (TextRank, LexRank) over their embeddings.

Both build a graph whose nodes are sentences and rank them by PageRank: the sentences most
similar to many others carry the document's main content. TextRank weighs each edge by the
sentences' cosine similarity; LexRank keeps the edges above a threshold, unweighted.

E5 embeddings are anisotropic (any two sentences have cosine ~0.8), so the document's mean
embedding is subtracted first: what is left is what sets a sentence apart, and the cosines
spread over [-1, 1], which lets a threshold and the clipping of negative weights mean something.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Ranking = Literal["textrank", "lexrank"]

#: PageRank's damping factor (the probability of following an edge rather than jumping anywhere)
DAMPING = 0.85
#: LexRank keeps the edges whose centred cosine similarity is above this
LEXRANK_THRESHOLD = 0.1


def similarity_graph(embeddings: np.ndarray, ranking: Ranking = "textrank") -> np.ndarray:
    """The ``(n, n)`` edge weights: centred cosine similarities (TextRank) or 0/1 above a threshold (LexRank).

    >>> similarity_graph(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])).round(2).tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    centred = embeddings - embeddings.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    unit = centred / np.where(norms > 1e-12, norms, 1.0)
    cosine = unit @ unit.T
    np.fill_diagonal(cosine, 0.0)
    if ranking == "lexrank":
        return (cosine > LEXRANK_THRESHOLD).astype(np.float64)
    if ranking != "textrank":
        raise ValueError(f"ranking must be 'textrank' or 'lexrank', got {ranking!r}")
    return np.clip(cosine, 0.0, None).astype(np.float64)


def pagerank(weights: np.ndarray, damping: float = DAMPING, max_iterations: int = 200, tolerance: float = 1e-9) -> np.ndarray:
    """PageRank scores (summing to 1) of a weighted graph by power iteration; a node with no edges links to all.

    >>> pagerank(np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])).round(3).tolist()
    [0.486, 0.257, 0.257]
    """
    n = len(weights)
    out_weight = weights.sum(axis=1, keepdims=True)
    transition = np.where(out_weight > 0, weights / np.where(out_weight > 0, out_weight, 1.0), 1.0 / n)
    scores = np.full(n, 1.0 / n)
    for _ in range(max_iterations):
        updated = (1 - damping) / n + damping * (transition.T @ scores)
        if np.abs(updated - scores).sum() < tolerance:
            return updated
        scores = updated
    return scores


def rank_order(embeddings: np.ndarray, ranking: Ranking = "textrank") -> list[int]:
    """Sentence indices, best-ranked first (ties go to the earlier sentence).

    >>> rank_order(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.8, 0.3]]))[-1]
    2
    """
    n = len(embeddings)
    if n <= 2:  # two sentences are each other's only neighbour: equal ranks
        return list(range(n))
    scores = pagerank(similarity_graph(np.asarray(embeddings, dtype=np.float64), ranking))
    return sorted(range(n), key=lambda i: (-round(float(scores[i]), 12), i))


def pick_sentences(embeddings: np.ndarray, count: int, ranking: Ranking = "textrank") -> list[int]:
    """Indices of the ``count`` best-ranked sentences, in document order.

    >>> pick_sentences(np.eye(3), 5)
    [0, 1, 2]
    """
    if count >= len(embeddings):
        return list(range(len(embeddings)))
    return sorted(rank_order(embeddings, ranking)[:count])


__all__ = ["DAMPING", "LEXRANK_THRESHOLD", "Ranking", "pagerank", "pick_sentences", "rank_order", "similarity_graph"]
