"""Knowledge bases for the customer-service assistant: ingest documents, search them with BM25 + dense + RRF.

>>> from modelbay.kb import KnowledgeBase, list_knowledge_bases     # doctest: +SKIP
>>> kb = KnowledgeBase.create("support")                            # doctest: +SKIP
>>> kb.add(["manual.pdf", "faq.csv"])                               # doctest: +SKIP
>>> kb.search("how do I get my money back?").hits[0].text           # doctest: +SKIP

The layer sits between ``tasks`` (the assistant uses it) and ``ml``/``data``; nothing heavy is
imported until a knowledge base embeds or searches.
"""

from __future__ import annotations

from pathlib import Path

from .base import DEFAULT_CONFIDENCE_THRESHOLD, KnowledgeBase
from .embedder import DEFAULT_EMBEDDING_MODEL
from .library import delete as _delete
from .library import list_names as _list_names
from .models import AddReport, ChunkInfo, DocumentInfo, KnowledgeBaseInfo, SearchHit, SearchMode, SearchResult
from .readers import SUPPORTED_HINT


def list_knowledge_bases(*, root: Path | None = None) -> list[KnowledgeBaseInfo]:
    """Every knowledge base under ``<MODELBAY_HOME>/kb`` (or ``root``), by name."""
    out = []
    for name in _list_names(root):
        kb = KnowledgeBase.open(name, root=root)
        try:
            out.append(kb.info())
        finally:
            kb.close()
    return out


def delete_knowledge_base(name: str, *, root: Path | None = None) -> None:
    """Delete a knowledge base (its SQLite file and index); the source files are not touched."""
    _delete(name, root=root)


__all__ = ["DEFAULT_CONFIDENCE_THRESHOLD", "DEFAULT_EMBEDDING_MODEL", "SUPPORTED_HINT", "AddReport", "ChunkInfo",
           "DocumentInfo", "KnowledgeBase", "KnowledgeBaseInfo", "SearchHit", "SearchMode", "SearchResult",
           "delete_knowledge_base", "list_knowledge_bases"]
