"""What every route shares: the config, the model pool, one batcher per loaded model.

Routes (the generic task routes and protocol adapters like the OpenAI-compatible
ones) run models only through :meth:`ServerContext.run` and
:meth:`ServerContext.stream`, so batching, queue limits, timeouts and model
lifecycle apply to all of them alike.

A request that times out or whose client disconnects stops costing the model: its
queued items are dropped, and a running pass sees its rows cancelled
(:mod:`modelbay.core.cancel`) and stops generating for them between steps.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from contextlib import nullcontext
from contextvars import ContextVar
from typing import Any, Literal

import anyio
from starlette.requests import Request

from ..core.cancel import cancel_scope
from ..core.errors import BadInput, ModelbayError
from ..core.protocols import Generating, ReportsProgress, Streaming
from ..core.task import Task
from .batching import Batcher, BatchListener
from .config import ServerConfig
from .pool import ModelPool


class RequestTimeout(ModelbayError):
    status_code = 504
    code = "timeout"


#: the HTTP request being handled; the task routes set it (``app.TaskRoute``) so that :meth:`ServerContext.run`
#: knows which client asks (the batcher's queue is fair between clients) and can notice it disconnect
current_request: ContextVar[Request | None] = ContextVar("modelbay_current_request", default=None)


def client_key(request: Request) -> str:
    """Who asks, for the fair queue: the API key id (set by the auth middleware), else the client's address."""
    key_id = request.scope.get("state", {}).get("api_key_id")
    if key_id:
        return f"key:{key_id}"
    client = request.scope.get("client")
    return f"addr:{client[0]}" if client else ""


async def _watch_disconnect(request: Request, gone: asyncio.Future) -> None:
    """Complete ``gone`` when the client hangs up (the body is already read: only a disconnect can come)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            if not gone.done():
                gone.set_result(None)
            return


def _generator(task: Task, method: str):
    """The task's declared generator for ``method``; a 422 when the task does not declare it."""
    if method == "generate":
        if not isinstance(task, Generating):
            raise BadInput(f"task {task.name!r} does not generate with a final output; stream it instead")
        return task.generate
    if method == "run_with_progress":
        if not isinstance(task, ReportsProgress):
            raise BadInput(f"task {task.name!r} does not report progress; drop \"stream\": true")
        return task.run_with_progress
    if not isinstance(task, Streaming):
        raise BadInput(f"task {task.name!r} does not stream; drop \"stream\": true")
    return task.stream


class ServerContext:
    def __init__(self, config: ServerConfig, pool: ModelPool | None = None) -> None:
        self.config = config
        self.pool = pool or ModelPool()
        self.batchers: dict[tuple[str, str], Batcher] = {}
        self.batch_listeners: list[BatchListener] = []
        self.ready = not config.preload

    async def load(self, task: str, model: str | None = None) -> Task:
        """The loaded task; only a model that still has to load costs a trip to a worker thread."""
        ready = self.pool.loaded(task, model)
        if ready is not None:
            return ready
        loaded, _ = await anyio.to_thread.run_sync(self.pool.get, task, model)
        return loaded

    def _batcher(self, task: Task) -> Batcher:
        key = (task.name, task.model.spec.name)
        batcher = self.batchers.get(key)
        if batcher is None or batcher.task is not task:  # (re)loaded model: a fresh batcher
            slot = self.pool.slot(key)
            batcher = Batcher(task, self.config.batching_for(*key), slot.lock, self.batch_listeners)
            self.batchers[key] = batcher
        return batcher

    async def run(self, task: str, model: str | None, items: list, *,
                  request: Request | None = None) -> tuple[Task, list]:
        """Run validated items through the (batched) model; returns the task and its outputs.

        ``request`` (default: :data:`current_request`) says which client asks; for tasks that stream
        (generation, transcription: long passes) a disconnect of that client also drops its work.
        """
        loaded = await self.load(task, model)
        batcher = self._batcher(loaded)
        request = request if request is not None else current_request.get()
        gone = watcher = None
        if request is not None and isinstance(loaded, Streaming):
            # one watcher task per request only where a pass can run long enough for a hang-up to matter
            loop = asyncio.get_running_loop()
            gone = loop.create_future()
            watcher = loop.create_task(_watch_disconnect(request, gone))
        try:
            outputs = await batcher.submit(items, self.config.request_timeout_s,
                                           client=client_key(request) if request is not None else "", gone=gone)
        except TimeoutError:
            raise RequestTimeout(
                f"no answer within {self.config.request_timeout_s:g} s",
                hint="send fewer items per request, or raise request_timeout_s",
            ) from None
        finally:
            if watcher is not None:
                watcher.cancel()
        self.pool.touch(loaded)
        return loaded, outputs

    async def stream(self, task: str, model: str | None, item: Any, *,
                     method: Literal["stream", "generate", "run_with_progress"] = "stream") -> AsyncIterator[Any]:
        """Yield the pieces of one streamed output; generation stops when the consumer stops.

        ``method="stream"`` runs ``Streaming.stream`` (text pieces); protocol adapters that need the
        finish reason and usage at the end ask for ``"generate"`` (``Generating.generate``).
        """
        loaded = await self.load(task, model)
        pieces_of = _generator(loaded, method)
        # a task whose runtime batches concurrent requests itself streams without the model's lock
        lock = nullcontext() if loaded.concurrent_streams else self.pool.slot((loaded.name, loaded.model.spec.name)).lock
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()

        def produce() -> None:
            pieces = pieces_of(item)
            try:
                # the scope lets the task's loop see the hang-up between its steps (before the prompt's
                # pass too), not only between the pieces it yields
                with lock, cancel_scope([cancelled]):
                    for piece in pieces:
                        if cancelled.is_set():  # the client went away: stop generating, free the model
                            break
                        loop.call_soon_threadsafe(queue.put_nowait, ("piece", piece))
            except Exception as exc:  # noqa: BLE001 - reported to the consumer, not a dropped connection
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
            finally:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()
                loop.call_soon_threadsafe(queue.put_nowait, ("done", None))

        worker = loop.run_in_executor(None, produce)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "done":
                    break
                if kind == "error":
                    raise value
                yield value
            await worker
        finally:
            cancelled.set()  # on a disconnect the worker sees this after its current piece and stops

    async def sse(self, task: str, model: str | None, item: Any) -> AsyncIterator[str]:
        """Server-sent events of :meth:`stream`: ``data: {"piece": ...}`` lines, then ``data: [DONE]``.

        A task that generates (``Generating``) also sends its whole output last, as ``data: {"output": {...}}``
        (a chat reply's finish reason and usage, an assistant answer's sources). A task that reports progress
        (``ReportsProgress``: a video) sends ``data: {"progress": {"stage", "done", "total"}}`` as it goes,
        then its output.
        """
        from ..core.registry import get_task

        cls = get_task(task)
        method = "generate" if issubclass(cls, Generating) else (
            "stream" if issubclass(cls, Streaming) or not issubclass(cls, ReportsProgress) else "run_with_progress")
        try:
            async for event in self.stream(task, model, item, method=method):
                piece, output = event if method != "stream" else (event, None)
                if method == "run_with_progress" and piece is not None:
                    stage, done, total = piece
                    yield f"data: {json.dumps({'progress': {'stage': stage, 'done': done, 'total': total}})}\n\n"
                elif piece:
                    yield f"data: {json.dumps({'piece': piece}, ensure_ascii=False)}\n\n"
                if output is not None:
                    yield f"data: {json.dumps({'output': output.model_dump(mode='json')}, ensure_ascii=False)}\n\n"
        except ModelbayError as exc:
            yield f"data: {json.dumps({'error': exc.to_dict()}, ensure_ascii=False)}\n\n"
        except Exception as exc:  # noqa: BLE001 - the response has started; the error travels as an event
            yield f"data: {json.dumps({'error': {'code': 'internal_error', 'message': str(exc)}})}\n\n"
        yield "data: [DONE]\n\n"
