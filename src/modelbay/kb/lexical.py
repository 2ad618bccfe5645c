"""Words for BM25 in mixed Chinese and English text, and the BM25 index over them (bm25s).

Chinese has no spaces, so whitespace tokenisation (what most RAG stacks fall back to) makes a
whole clause one "word" and BM25 never matches a paraphrase. Here jieba segments the text in its
search mode (long words also yield their sub-words: 退款申请 -> 退款, 申请, 退款申请), English and
other Latin words are lower-cased and Snowball-stemmed (PyStemmer; "refunds"/"refunded" ->
"refund"), and stop words of both languages (bm25s' lists) and punctuation are dropped.

>>> bm25_tokens("How do I get refunds? 我想申请退款")
['get', 'refund', '想', '申请', '退款']
"""

from __future__ import annotations

import functools
import re
import threading

import numpy as np

_WORD = re.compile(r"\w", re.UNICODE)
_LATIN = re.compile(r"^[0-9a-z_\u00c0-\u024f'-]+$")
_jieba_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_CHINESE, STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | frozenset(STOPWORDS_CHINESE)


@functools.lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _jieba_lock:  # the first call loads the dictionary; do it once, not in every thread at once
        jieba.initialize()
    return jieba


_stemmers = threading.local()  # PyStemmer objects are not thread-safe: one per thread


def _stem(word: str) -> str:
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        import Stemmer

        stemmer = _stemmers.english = Stemmer.Stemmer("english")
    return stemmer.stemWord(word)


def bm25_tokens(text: str) -> list[str]:
    """Index terms of ``text``: jieba words (search mode) for Chinese, stemmed lower-case words for English."""
    jieba = _jieba()
    stop = _stopwords()
    out: list[str] = []
    for piece in jieba.cut_for_search(text.lower()):
        piece = piece.strip()
        if not piece or not _WORD.search(piece) or piece in stop:
            continue
        out.append(_stem(piece) if _LATIN.match(piece) else piece)
    return out


class LexicalIndex:
    """BM25 (bm25s, Lucene's variant) over already tokenised chunks; immutable once built.

    >>> index = LexicalIndex([["refund", "polici"], ["ship", "time"]])
    >>> [round(float(s), 3) for s in index.scores(["refund"])]
    [0.277, 0.0]
    """

    def __init__(self, token_lists: list[list[str]]) -> None:
        import bm25s

        self.size = len(token_lists)
        self.retriever = None
        if self.size and any(token_lists):
            vocab: dict[str, int] = {}
            ids = [[vocab.setdefault(t, len(vocab)) for t in tokens] for tokens in token_lists]
            self.retriever = bm25s.BM25()
            self.retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
            self.vocab = vocab

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """The BM25 score of every chunk for the query (zeros where nothing matches)."""
        known = [t for t in query_tokens if self.retriever is not None and t in self.vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(known), dtype=np.float32)
