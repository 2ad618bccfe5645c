"""A named knowledge base: documents in, cited chunks out.

>>> kb = KnowledgeBase.create("support")                        # doctest: +SKIP
>>> kb.add(["docs/", "faq.csv"], progress=True)                 # doctest: +SKIP
>>> result = kb.search("怎么申请退款", k=5)                       # doctest: +SKIP
>>> result.confident, result.hits[0].source, result.hits[0].section   # doctest: +SKIP
(True, '/home/me/docs/after-sales.md', '售后 > 退款')

Thread-safe: searches run concurrently with each other and with ``add``/``remove`` (SQLite in
WAL mode; the in-memory index is swapped whole when the file's generation changes). Several
processes may open the same knowledge base.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..core.errors import BadInput
from . import library
from .confidence import DEFAULT_CONFIDENCE_THRESHOLD, CalibrationReport, best_hit_shares_a_term, calibrate, is_confident
from .embedder import DEFAULT_EMBEDDING_MODEL, Embedder, get_embedder
from .ingest import Progress, add_files
from .lexical import bm25_tokens
from .models import AddReport, ChunkInfo, DocumentInfo, KnowledgeBaseInfo, SearchHit, SearchMode, SearchResult
from .rerank import get_reranker
from .search import SearchIndex
from .sentences import KeySentence, key_sentences
from .store import KBStore

MAX_K = 100
_MODES = ("hybrid", "bm25", "dense")


class KnowledgeBase:
    """One knowledge base (``<MODELBAY_HOME>/kb/<name>/kb.sqlite``); get one with :meth:`create` or :meth:`open`."""

    def __init__(self, name: str, folder: Path, *, embedder: Embedder | None = None) -> None:
        self.name = name
        self.folder = folder
        self.store = KBStore(folder / library.DB_FILE)
        self._embedder = embedder
        self._index: SearchIndex | None = None
        self._index_lock = threading.Lock()
        self._write_lock = threading.Lock()

    @property
    def settings(self) -> dict:
        """The stored settings, read at each use: another process (``modelbay kb calibrate``) may change them."""
        return self.store.settings()

    @classmethod
    def create(cls, name: str, *, embedding_model: str | None = DEFAULT_EMBEDDING_MODEL, chunk_max_chars: int = 600,
               chunk_overlap_chars: int = 100, confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
               root: Path | None = None, exist_ok: bool = False) -> KnowledgeBase:
        """Make a new, empty knowledge base (or open it if ``exist_ok`` and it exists).

        ``embedding_model=None`` makes a BM25-only knowledge base (no model to load; dense and
        hybrid search fall back to BM25). Chunk sizes are in characters.
        """
        if not 10 <= chunk_max_chars <= 20_000:
            raise BadInput(f"chunk_max_chars must be between 10 and 20000, got {chunk_max_chars}")
        if not 0 <= chunk_overlap_chars < chunk_max_chars:
            raise BadInput(f"chunk_overlap_chars must be >= 0 and < chunk_max_chars, got {chunk_overlap_chars}")
        if embedding_model is not None:
            from ..core.catalog import get_spec

            get_spec(embedding_model)  # an unknown name fails now, not at the first add
        settings = {"name": name, "embedding_model": embedding_model, "chunk_max_chars": chunk_max_chars,
                    "chunk_overlap_chars": chunk_overlap_chars, "confidence_threshold": confidence_threshold}
        folder = library.create_folder(name, settings, root=root, exist_ok=exist_ok)
        return cls(name, folder)

    @classmethod
    def open(cls, name: str, *, root: Path | None = None) -> KnowledgeBase:
        """Open an existing knowledge base; ``BadInput`` listing the existing ones if there is none."""
        return cls(name, library.existing_folder(name, root=root))

    def close(self) -> None:
        """Close this thread's SQLite connection (others close when their threads end)."""
        self.store.close()

    def info(self) -> KnowledgeBaseInfo:
        documents, chunks = self.store.counts()
        s = self.settings
        return KnowledgeBaseInfo(
            name=self.name, path=str(self.folder), embedding_model=s["embedding_model"],
            chunk_max_chars=s["chunk_max_chars"], chunk_overlap_chars=s["chunk_overlap_chars"],
            confidence_threshold=s["confidence_threshold"], documents=documents, chunks=chunks,
            size_bytes=library.size_on_disk(self.folder), created_at=s["created_at"])

    # -- documents -------------------------------------------------------------------------------
    def add(self, paths: Iterable[str | Path] | str | Path, *, progress: Progress = None) -> AddReport:
        """Ingest files and folders (recursively): Markdown, text, HTML, PDF, DOCX, FAQ CSV/TSV/JSONL/JSON.

        A file already stored with the same content is skipped; a changed one has its chunks
        replaced. ``progress``: ``True`` for Rich bars on stderr, or ``callback(stage, done, total)``
        with stage ``"files"`` (files read) then ``"chunks"`` (chunks embedded and stored).
        Raises ``BadInput`` (nothing written) for a missing, unsupported or unreadable file.
        """
        if isinstance(paths, (str, Path)):
            paths = [paths]
        with self._write_lock:
            return add_files(self.store, paths, self.settings, self._get_embedder, progress)

    def documents(self) -> list[DocumentInfo]:
        return [_document(row) for row in self.store.documents()]

    def document(self, ref: int | str) -> DocumentInfo:
        """A document by id or by source path (as given to ``add`` or absolute)."""
        return _document(self._document_row(ref))

    def chunks(self, ref: int | str) -> list[ChunkInfo]:
        """The chunks of a document, in order."""
        row = self._document_row(ref)
        return [ChunkInfo(id=c[0], document_id=row[0], source=row[1], position=c[1], section=c[2], page=c[3],
                          text=c[4]) for c in self.store.chunks_of(row[0])]

    def remove(self, ref: int | str) -> DocumentInfo:
        """Delete a document and its chunks; returns what was removed."""
        with self._write_lock:
            row = self._document_row(ref)
            self.store.delete_document(row[0])
        return _document(row)

    def _document_row(self, ref: int | str) -> tuple:
        row = None
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            row = self.store.document_by_id(int(ref))
        if row is None and isinstance(ref, str):
            row = self.store.document_by_source(ref) or self.store.document_by_source(str(Path(ref).expanduser().resolve()))
        if row is None:
            raise BadInput(f"knowledge base {self.name!r} has no document {ref!r}",
                           hint=f"`modelbay kb ls {self.name}` lists its documents by id and source")
        return row

    # -- search ----------------------------------------------------------------------------------
    def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid", *,
               confidence_threshold: float | None = None, rerank: str | None = None,
               rerank_candidates: int = 20) -> SearchResult:
        """The ``k`` best chunks for ``query``: ``hybrid`` (BM25 + dense, RRF), ``bm25`` or ``dense``.

        ``rerank``: a catalog reranker (task ``rerank``, e.g. ``bge-reranker-base``) that scores the
        mode's top ``max(k, rerank_candidates)`` chunks against the query; the best ``k`` by that
        score are returned, each with its ``rerank_score`` (the mode's scores stay as they were).

        ``confidence`` is the dense cosine of the best hit (None in ``bm25`` mode or without a dense
        index, where ``confident`` means some chunk shares a term with the query). ``confident``: the
        cosine reaches the threshold, or comes within ``LEXICAL_MARGIN`` of it while the best hit
        shares a term with the query.
        """
        query = (query or "").strip()
        if not query:
            raise BadInput("the search query is empty", hint="pass the user's question as text")
        if mode not in _MODES:
            raise BadInput(f"unknown search mode {mode!r}", hint=f"use one of {', '.join(_MODES)}")
        if not 1 <= k <= MAX_K:
            raise BadInput(f"k must be between 1 and {MAX_K}, got {k}")
        if not 1 <= rerank_candidates <= MAX_K:
            raise BadInput(f"rerank_candidates must be between 1 and {MAX_K}, got {rerank_candidates}")
        reranker = get_reranker(rerank) if rerank is not None else None  # a bad name fails even when nothing matches
        depth = k if reranker is None else max(k, rerank_candidates)
        index = self._current_index()
        dense_wanted = mode != "bm25" and index.vectors is not None
        vector = self._get_embedder().embed([query], is_query=True)[0] if dense_wanted and len(index) else None
        ranked = index.rank(bm25_tokens(query) if mode != "dense" or vector is None else [], vector, depth,
                            mode if vector is not None else "bm25")
        hits = [_hit(index.chunks[r.row], r.score, r.dense_score, r.bm25_score) for r in ranked]
        if reranker is not None:
            hits = _reranked(hits, reranker.scores(query, [h.text for h in hits]), k)
        threshold = float(self.settings["confidence_threshold"] if confidence_threshold is None else confidence_threshold)
        dense_scores = [h.dense_score for h in hits if h.dense_score is not None]
        confidence = max(dense_scores) if dense_scores and mode != "bm25" else None
        confident = (bool(is_confident(confidence, best_hit_shares_a_term(hits), threshold)) if confidence is not None
                     else any(h.bm25_score > 0 for h in hits))
        return SearchResult(query=query, mode=mode, hits=hits, confidence=confidence, confident=confident,
                            threshold=threshold)

    def calibrate(self, questions: Sequence[tuple[str, bool]], *, k: int = 3, apply: bool = True,
                  min_answered: float | None = None, progress: Progress = None) -> CalibrationReport:
        """Choose the handoff threshold from ``(question, answerable)`` pairs (``kb.confidence``); store it unless
        ``apply=False``."""
        if not self.settings["embedding_model"]:
            raise BadInput(f"knowledge base {self.name!r} is BM25-only: it has no similarity threshold to calibrate",
                           hint="create it with an embedding model (the default) to get one")
        report = calibrate(self.name, questions, lambda question: self.search(question, k=k, mode="hybrid"),
                           float(self.settings["confidence_threshold"]), min_answered=min_answered, progress=progress)
        if apply:
            self.set_confidence_threshold(report.after.threshold)
        return report.model_copy(update={"applied": apply})

    def set_confidence_threshold(self, threshold: float) -> None:
        if not 0.0 < threshold < 1.0:
            raise BadInput(f"the confidence threshold is a cosine between 0 and 1, got {threshold}")
        self.store.update_settings({"confidence_threshold": float(threshold)})

    def key_sentences(self, query: str, passages: Sequence[str], n: int = 2) -> list[KeySentence]:
        """The ``n`` sentences of ``passages`` (hit texts) that bear most on ``query``, by this knowledge base's
        embedder and BM25 terms (``kb.sentences``)."""
        return key_sentences(query, passages, n, self._get_embedder())

    def _current_index(self) -> SearchIndex:
        generation = self.store.generation()
        index = self._index
        if index is not None and index.generation == generation:
            return index
        with self._index_lock:
            if self._index is None or self._index.generation != self.store.generation():
                self._index = SearchIndex(*self.store.snapshot())
            return self._index

    def _get_embedder(self) -> Embedder | None:
        if self._embedder is None and self.settings["embedding_model"]:
            self._embedder = get_embedder(self.settings["embedding_model"])
        return self._embedder


def _document(row: tuple) -> DocumentInfo:
    return DocumentInfo(id=row[0], source=row[1], kind=row[2], sha256=row[3], size_bytes=row[4], chunks=row[5],
                        added_at=row[6])


def _reranked(hits: list[SearchHit], scores: np.ndarray, k: int) -> list[SearchHit]:
    """The ``k`` hits with the highest reranker scores (ties keep the mode's order), each with its score."""
    order = sorted(range(len(hits)), key=lambda i: (-float(scores[i]), i))[:k]
    return [hits[i].model_copy(update={"rerank_score": round(float(scores[i]), 6)}) for i in order]


def _hit(chunk: tuple, score: float, dense: float | None, bm25: float) -> SearchHit:
    return SearchHit(id=chunk[0], document_id=chunk[1], source=chunk[2], position=chunk[3], section=chunk[4],
                     page=chunk[5], text=chunk[6], score=round(score, 6),
                     dense_score=None if dense is None else round(dense, 6), bm25_score=round(bm25, 6))


__all__ = ["DEFAULT_CONFIDENCE_THRESHOLD", "KnowledgeBase"]
