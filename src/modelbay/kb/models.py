"""What the knowledge-base API returns: pydantic models, so the CLI prints them and the server serialises them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SearchMode = Literal["hybrid", "bm25", "dense"]


class KnowledgeBaseInfo(BaseModel):
    name: str
    path: str = Field(..., description="folder holding the knowledge base's kb.sqlite")
    embedding_model: str | None = Field(..., description="catalog model of the dense index; None = BM25 only")
    chunk_max_chars: int
    chunk_overlap_chars: int
    confidence_threshold: float = Field(..., description="search results below it are flagged not confident")
    documents: int
    chunks: int
    size_bytes: int = Field(..., description="the SQLite file and its write-ahead log")
    created_at: float


class DocumentInfo(BaseModel):
    id: int
    source: str = Field(..., description="absolute path of the file the document was read from")
    kind: str = Field(..., description="markdown, text, html, pdf, docx or faq")
    sha256: str
    size_bytes: int
    chunks: int
    added_at: float


class ChunkInfo(BaseModel):
    id: int
    document_id: int
    source: str
    position: int = Field(..., description="0-based order of the chunk in its document")
    section: str | None = Field(None, description="heading path, 'Chapter > Section'")
    page: int | None = Field(None, description="1-based PDF page")
    text: str


class SearchHit(ChunkInfo):
    score: float = Field(..., description="the ranking score of the mode: RRF (hybrid), BM25 or dense cosine")
    dense_score: float | None = Field(None, description="cosine of query and chunk embeddings (None without a dense index)")
    bm25_score: float = Field(..., description="raw BM25 score of the chunk for the query (0 = no shared term)")
    rerank_score: float | None = Field(
        None, description="the reranker's relevance score when the search was reranked (``rerank``), else None")


class SearchResult(BaseModel):
    query: str
    mode: SearchMode
    hits: list[SearchHit]
    confidence: float | None = Field(
        None, description="dense cosine of the best hit: how sure the knowledge base is that it holds an answer")
    confident: bool = Field(..., description="confidence >= the threshold; False means 'I don't know'")
    threshold: float = Field(..., description="the threshold it was judged by: the request's, else the knowledge "
                             "base's own")


class AddReport(BaseModel):
    added: list[str] = Field(default_factory=list, description="new documents")
    replaced: list[str] = Field(default_factory=list, description="documents whose file changed: old chunks replaced")
    unchanged: list[str] = Field(default_factory=list, description="same content hash as stored: skipped")
    skipped: list[str] = Field(default_factory=list, description="files in added folders that are unsupported, empty "
                               "or unreadable (then with the reason in brackets)")
    chunks_added: int = 0
    seconds: float = 0.0
