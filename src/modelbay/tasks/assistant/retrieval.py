"""Passages for a question, from the knowledge base named in the request (``modelbay.kb``).

The knowledge base named ``demo`` is built on first use from the example documents in this folder's
``demo/`` (a made-up shop's policies, en and zh), so the assistant answers something right after
installation and its examples run anywhere; every other name must have been created by the user.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

DEMO_KB = "demo"
DEMO_DOCUMENTS = Path(__file__).resolve().parent / "demo"
_demo_lock = threading.Lock()


@dataclass(frozen=True)
class Passage:
    text: str
    document: str  # the source file's name
    path: str  # the source file as stored (absolute at ingestion)
    heading: str | None
    page: int | None
    chunk: int
    score: float


def retrieve(kb_name: str, query: str, k: int, threshold: float | None,
             rerank: str | None = None) -> tuple[list[Passage], float, bool, float]:
    """The ``k`` best passages (hybrid BM25 + dense, reranked by the catalog reranker ``rerank`` if given), the
    retrieval confidence (dense cosine of the best, 0-1), whether the knowledge base is confident it holds an
    answer (``KnowledgeBase.search``) and the threshold used: ``threshold``, else the knowledge base's own
    (``modelbay kb create --threshold``)."""
    from ...kb.shared import shared_knowledge_base

    if kb_name == DEMO_KB:
        _ensure_demo()
    result = shared_knowledge_base(kb_name).search(query, k=k, mode="hybrid", confidence_threshold=threshold,
                                                   rerank=rerank)
    passages = [Passage(text=h.text, document=Path(h.source).name, path=h.source, heading=h.section, page=h.page,
                        chunk=h.position, score=h.score) for h in result.hits]
    confidence = result.confidence
    if confidence is None:  # a BM25-only knowledge base: a shared term is all it can say
        confidence = 1.0 if result.confident else 0.0
    return passages, float(confidence), result.confident, result.threshold


def key_sentences(kb_name: str, query: str, passages: list[Passage], n: int) -> list[tuple[int, str]]:
    """``(passage number from 1, sentence)`` of the ``n`` sentences of ``passages`` that bear most on ``query``,
    best first (``KnowledgeBase.key_sentences``)."""
    from ...kb.shared import shared_knowledge_base

    if n <= 0 or not passages:
        return []
    found = shared_knowledge_base(kb_name).key_sentences(query, [p.text for p in passages], n)
    return [(s.passage + 1, s.text) for s in found]


def _ensure_demo() -> None:
    """Create the ``demo`` knowledge base from the shipped example documents, once."""
    from ...kb import KnowledgeBase
    from ...kb.library import DB_FILE, kb_root
    from ...kb.shared import forget

    if (kb_root() / DEMO_KB / DB_FILE).is_file():  # every request after the first: one stat
        return
    with _demo_lock:
        if (kb_root() / DEMO_KB / DB_FILE).is_file():
            return
        kb = KnowledgeBase.create(DEMO_KB, exist_ok=True)
        kb.add([DEMO_DOCUMENTS])
        kb.close()
        forget(DEMO_KB)

