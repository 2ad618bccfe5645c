"""The sentences of retrieved passages that bear most on a query: what a small LLM should read first.

A passage of 600 characters holds several facts of one kind (three dates, two inventors, a list of
percentages); a 0.5B model often answers with the wrong one of them. Naming the sentences that
bear on the question next to it helps it pick (measured in docs/models.md, *Assistant*).

A sentence's score is its dense cosine with the query (the knowledge base's embedder, query
against passage, as retrieval ranks chunks) plus ``LEXICAL_WEIGHT`` times the share of the query's
BM25 terms (jieba words for Chinese, stemmed English words) it contains. Either signal alone
misses: the cosine favours a sentence on the topic that lacks the asked detail, the shared words
miss a paraphrase. Without an embedder (a BM25-only knowledge base) the shared words decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..ml.sentences import split_sentences
from .embedder import Embedder
from .lexical import bm25_tokens

#: weight of the share of query terms a sentence contains, against its cosine (0-1) with the query
LEXICAL_WEIGHT = 0.5
#: sentences shorter than this (headings, list bullets, "Yes.") are not candidates
MIN_SENTENCE_CHARS = 8


@dataclass(frozen=True)
class KeySentence:
    passage: int  # index of the passage it comes from, in the order given
    text: str
    score: float


def key_sentences(query: str, passages: Sequence[str], n: int, embedder: Embedder | None) -> list[KeySentence]:
    """The ``n`` sentences of ``passages`` that bear most on ``query``, best first (ties: passage order).

    >>> [s.text for s in key_sentences("When do refunds arrive?", ["Refunds arrive in 5 days. We ship daily."],
    ...                                1, None)]
    ['Refunds arrive in 5 days.']
    """
    candidates = [(number, sentence) for number, text in enumerate(passages) for sentence in split_sentences(text)
                  if len(sentence) >= MIN_SENTENCE_CHARS and not sentence.startswith("#")]
    if n <= 0 or not candidates:
        return []
    asked = set(bm25_tokens(query))
    shared = np.array([len(asked & set(bm25_tokens(s))) / len(asked) if asked else 0.0 for _, s in candidates])
    scores = LEXICAL_WEIGHT * shared
    if embedder is not None:
        query_vector = embedder.embed([query], is_query=True)[0]
        scores = scores + embedder.embed([s for _, s in candidates], is_query=False) @ query_vector
    order = sorted(range(len(candidates)), key=lambda i: (-float(scores[i]), i))[:n]
    return [KeySentence(candidates[i][0], candidates[i][1], round(float(scores[i]), 4)) for i in order]
