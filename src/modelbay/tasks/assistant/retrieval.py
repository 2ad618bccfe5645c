"""Passages for a question, from the knowledge base named in the request (``modelbay.kb``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Passage:
    text: str
    document: str  # the source file's name
    path: str  # the source file as stored (absolute at ingestion)
    heading: str | None
    page: int | None
    chunk: int
    score: float


def retrieve(kb_name: str, query: str, k: int) -> tuple[list[Passage], float]:
    """The ``k`` best passages (hybrid BM25 + dense) and the retrieval confidence (dense cosine of the best, 0-1)."""
    from ...kb.shared import shared_knowledge_base

    result = shared_knowledge_base(kb_name).search(query, k=k, mode="hybrid")
    passages = [Passage(text=h.text, document=Path(h.source).name, path=h.source, heading=h.section, page=h.page,
                        chunk=h.position, score=h.score) for h in result.hits]
    confidence = result.confidence
    if confidence is None:  # a BM25-only knowledge base: a shared term is all it can say
        confidence = 1.0 if result.confident else 0.0
    return passages, float(confidence)

