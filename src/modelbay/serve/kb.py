"""Knowledge bases over HTTP: ``/v1/kb`` (list, create), ``/v1/kb/{kb}`` (show, delete), documents, search,
``/v1/kb/{kb}/calibrate`` (the handoff threshold from labelled questions; ``?stream=true`` for progress events).

Search (``POST /v1/kb/{kb}/search``) and the listings need the ``run`` scope; creating, uploading
and deleting change what the assistant answers from, so they need ``train`` (``key_scopes.py``).
Uploaded files are kept under ``<MODELBAY_HOME>/kb/<kb>/uploads/`` (the knowledge base cites them
and re-reads them when a file of the same name is uploaded again). ``POST …/documents?stream=true``
answers with server-sent progress events (``{"stage": "chunks", "done": 40, "total": 120}``) and
then ``{"report": …}``; without it the answer is the report once ingestion is done.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..core.errors import ModelbayError
from .kb_uploads import ingest_staged, save_uploads


class CreateKB(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., description="1-64 letters, digits, '_', '.', '-'")
    chunk_max_chars: int = Field(600, ge=10, le=20_000)
    chunk_overlap_chars: int = Field(100, ge=0)
    bm25_only: bool = Field(False, description="no dense index (no embedding model)")


class SearchKB(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., min_length=1, max_length=4000)
    k: int = Field(5, ge=1, le=100)
    mode: str = Field("hybrid", pattern="^(hybrid|bm25|dense)$")
    rerank: str | None = Field(None, max_length=200, description="catalog reranker (task rerank) that reorders the "
                               "top rerank_candidates hits; omit for none")
    rerank_candidates: int = Field(20, ge=1, le=100, description="hits of the mode the reranker scores")


class LabelledQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=4000)
    answerable: bool = Field(..., description="whether the knowledge base's documents answer it")


class CalibrateKB(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions: list[LabelledQuestion] = Field(..., min_length=2, max_length=5000)
    k: int = Field(3, ge=1, le=10, description="passages searched per question, as the assistant's top_k")
    apply: bool = Field(True, description="store the chosen threshold; false: report only")
    min_answered: float | None = Field(None, ge=0, le=1, description="answer at least this share of the answerable "
                                       "questions (most handoffs under that floor); omit for the best balanced accuracy")


def _kb(name: str):
    from ..kb.shared import shared_knowledge_base

    return shared_knowledge_base(name)


def _progress_stream(work: Callable[[Callable[[str, int, int], None]], BaseModel]) -> AsyncIterator[str]:
    """Server-sent events: ``work(progress)``'s progress, then ``{"report": …}`` (or ``{"error": …}``), then [DONE]."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def report(stage: str, done: int, total: int) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, {"stage": stage, "done": done, "total": total})

    async def events() -> AsyncIterator[str]:
        worker = loop.run_in_executor(None, lambda: work(report))
        worker.add_done_callback(lambda _: loop.call_soon_threadsafe(queue.put_nowait, None))
        while (event := await queue.get()) is not None:
            yield f"data: {json.dumps(event)}\n\n"
        try:
            yield f"data: {json.dumps({'report': (await worker).model_dump()})}\n\n"
        except ModelbayError as exc:
            yield f"data: {json.dumps({'error': exc.to_dict()}, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"

    return events()


async def calibrate_kb(kb: str, body: CalibrateKB, stream: bool = False):
    """``POST /v1/kb/{kb}/calibrate``: ``KnowledgeBase.calibrate`` on the body's questions (events with ``stream``)."""
    base = await anyio.to_thread.run_sync(_kb, kb)
    questions = [(q.question, q.answerable) for q in body.questions]

    def run(progress=None):
        return base.calibrate(questions, k=body.k, apply=body.apply, min_answered=body.min_answered, progress=progress)

    if stream:
        return StreamingResponse(_progress_stream(run), media_type="text/event-stream")
    return (await anyio.to_thread.run_sync(run)).model_dump()


def install(app: FastAPI, ctx) -> None:
    from ..kb import DEFAULT_EMBEDDING_MODEL, KnowledgeBase, delete_knowledge_base, list_knowledge_bases
    from ..kb.shared import forget

    tags = ["knowledge bases"]

    async def list_kbs() -> dict:
        return {"knowledge_bases": [k.model_dump() for k in await anyio.to_thread.run_sync(list_knowledge_bases)]}

    async def create_kb(body: CreateKB) -> dict:
        def create():
            forget(body.name)
            return KnowledgeBase.create(body.name, chunk_max_chars=body.chunk_max_chars,
                                        chunk_overlap_chars=body.chunk_overlap_chars,
                                        embedding_model=None if body.bm25_only else DEFAULT_EMBEDDING_MODEL).info()
        return (await anyio.to_thread.run_sync(create)).model_dump()

    async def show_kb(kb: str) -> dict:
        def show():
            base = _kb(kb)
            return {**base.info().model_dump(), "documents": [d.model_dump() for d in base.documents()]}
        return await anyio.to_thread.run_sync(show)

    async def delete_kb(kb: str) -> dict:
        await anyio.to_thread.run_sync(delete_knowledge_base, kb)
        forget(kb)
        return {"deleted": kb}

    async def add_documents(kb: str, request: Request, stream: bool = False):
        base = await anyio.to_thread.run_sync(_kb, kb)  # an unknown name fails before the upload is read
        staged = await save_uploads(request, base.folder)

        def add(progress=None):
            return ingest_staged(staged, base.folder / "uploads", lambda paths: base.add(paths, progress=progress))

        if stream:
            return StreamingResponse(_progress_stream(add), media_type="text/event-stream")
        return (await anyio.to_thread.run_sync(add)).model_dump()

    async def remove_document(kb: str, document_id: int) -> dict:
        return (await anyio.to_thread.run_sync(lambda: _kb(kb).remove(document_id))).model_dump()

    async def search_kb(kb: str, body: SearchKB) -> dict:
        result = await anyio.to_thread.run_sync(lambda: _kb(kb).search(
            body.query, k=body.k, mode=body.mode, rerank=body.rerank, rerank_candidates=body.rerank_candidates))
        return result.model_dump()

    app.add_api_route("/v1/kb", list_kbs, methods=["GET"], tags=tags, summary="Knowledge bases")
    app.add_api_route("/v1/kb", create_kb, methods=["POST"], tags=tags, summary="Create a knowledge base")
    app.add_api_route("/v1/kb/{kb}", show_kb, methods=["GET"], tags=tags, summary="A knowledge base and its documents")
    app.add_api_route("/v1/kb/{kb}", delete_kb, methods=["DELETE"], tags=tags, summary="Delete a knowledge base")
    app.add_api_route("/v1/kb/{kb}/documents", add_documents, methods=["POST"], tags=tags,
                      summary="Upload documents (multipart files; ?stream=true for progress events)")
    app.add_api_route("/v1/kb/{kb}/documents/{document_id}", remove_document, methods=["DELETE"], tags=tags,
                      summary="Remove a document")
    app.add_api_route("/v1/kb/{kb}/search", search_kb, methods=["POST"], tags=tags,
                      summary="Search a knowledge base (hybrid BM25 + dense), without generating")
    app.add_api_route("/v1/kb/{kb}/calibrate", calibrate_kb, methods=["POST"], tags=tags,
                      summary="Choose the handoff threshold from questions marked answerable or not "
                              "(?stream=true for progress events)")
