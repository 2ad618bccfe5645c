"""The FastAPI app, generated from the task registry: no task-specific code here."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, create_model

from .. import __version__
from ..core.errors import BadInput, ModelbayError, UnknownTask
from ..core.inventory import models_table, tasks_table
from ..core.registry import all_tasks, get_task, task_names
from ..core.settings import get_settings
from ..core.task import Task
from .content_type import JSONByDefault
from .limits import BodySizeLimit
from .pool import ModelPool

log = logging.getLogger("modelbay.serve")


class ServerConfig(BaseModel):
    """What the server loads at start-up; the rest is lazy."""

    preload: list[str] = Field(
        default_factory=list, description="task or task=model entries to load at start-up; 'all' = every task's default"
    )


def _error(status: int, code: str, message: str, hint: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    return JSONResponse({"error": body}, status_code=status)


def _request_model(cls: type[Task]) -> type[BaseModel]:
    item = str | cls.Input if cls.primary_field else cls.Input
    limits = get_settings().limits
    return create_model(
        f"{cls.__name__}Request",
        inputs=(list[item] | item, Field(..., description=f"one item or a list of at most {limits.max_items}")),
        model=(str | None, Field(None, description=f"catalog model name (default {cls.default_model})")),
        stream=(bool, Field(False, description="server-sent events of output pieces (single input; tasks that stream)")),
    )


def _response_model(cls: type[Task]) -> type[BaseModel]:
    return create_model(f"{cls.__name__}Response", task=(str, ...), model=(str, ...), outputs=(list[cls.Output], ...))


def create_app(config: ServerConfig | None = None) -> FastAPI:
    config = config or ServerConfig()
    pool = ModelPool()
    state = {"ready": not config.preload}

    async def preload() -> None:
        entries = [n for e in config.preload for n in (task_names() if e == "all" else [e])]
        for entry in entries:
            task, _, model = entry.partition("=")
            try:
                await anyio.to_thread.run_sync(pool.get, task, model or None)
                log.info("preloaded %s", entry)
            except ModelbayError as exc:
                log.error("preloading %s failed: %s", entry, exc)
        state["ready"] = True

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        loader = asyncio.create_task(preload())
        yield
        loader.cancel()

    app = FastAPI(title="modelbay", version=__version__, lifespan=lifespan,
                  description="Pretrained AI capabilities over HTTP. Every task: POST /v1/tasks/{task}.")
    app.add_middleware(JSONByDefault)
    app.add_middleware(BodySizeLimit, max_bytes=get_settings().limits.max_body_bytes)
    app.state.pool = pool

    @app.exception_handler(ModelbayError)
    async def _modelbay_error(_req: Request, exc: ModelbayError):
        return _error(exc.status_code, exc.code, exc.message, exc.hint)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_req: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{loc or 'body'}: {err.get('msg')}")
        return _error(422, "bad_input", "; ".join(problems) or "invalid request body")

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz")
    async def readyz():
        if not state["ready"]:
            return _error(503, "not_ready", "models are still loading")
        return {"status": "ready"}

    @app.get("/v1/tasks")
    async def list_tasks_route() -> dict:
        return {"tasks": tasks_table()}

    @app.get("/v1/models")
    async def list_models_route() -> dict:
        loaded = {key[1]: slot for key, slot in pool.status().items()}
        rows = await anyio.to_thread.run_sync(models_table)
        data = []
        for r in rows:
            slot = loaded.get(r["name"])
            data.append({
                "id": r["name"], "object": "model", "owned_by": "modelbay", **r,
                "loaded": bool(slot and slot.task is not None),
                "load_error": slot.error if slot else None,
            })
        return {"object": "list", "data": data}

    for cls in all_tasks():
        _add_task_route(app, pool, cls)

    @app.post("/v1/tasks/{name}", include_in_schema=False)
    async def unknown_task(name: str):
        get_task(name)  # raises UnknownTask (404) listing valid tasks for a truly unknown name
        raise UnknownTask(f"task {name!r} has no route")

    return app


def _add_task_route(app: FastAPI, pool: ModelPool, cls: type[Task]) -> None:
    Request_ = _request_model(cls)
    Response_ = _response_model(cls)
    max_items = get_settings().limits.max_items

    async def endpoint(body: Request_):  # type: ignore[valid-type]
        values = body.inputs if isinstance(body.inputs, list) else [body.inputs]
        if not values:
            raise BadInput("inputs: the list is empty; send at least one item")
        if len(values) > max_items:
            raise BadInput(f"inputs: {len(values)} items; the limit is {max_items} per request (MODELBAY_LIMIT_MAX_ITEMS)")
        items = [cls.coerce(v, allow_paths=False, field=f"inputs[{i}]") for i, v in enumerate(values)]
        task, slot = await anyio.to_thread.run_sync(pool.get, cls.name, body.model)
        model_name = task.model.spec.name
        if body.stream:
            return _stream_response(task, slot, items, cls)

        def run_batch():
            with slot.lock:
                return task(items)

        outputs = await anyio.to_thread.run_sync(run_batch)
        return {"task": cls.name, "model": model_name, "outputs": outputs}

    endpoint.__annotations__["body"] = Request_  # a real class, not the postponed string annotation
    endpoint.__name__ = f"run_{cls.name.replace('-', '_')}"
    for path in {f"/v1/tasks/{n}" for n in (cls.name, *cls.aliases)}:
        app.add_api_route(
            path, endpoint, methods=["POST"], response_model=Response_, summary=f"{cls.name}: {cls.description}",
            include_in_schema=path == f"/v1/tasks/{cls.name}", tags=[cls.name],
        )


def _stream_response(task: Task, slot, items: list, cls: type[Task]) -> StreamingResponse:
    if "stream" not in cls.capabilities:
        raise BadInput(f"task {cls.name!r} does not stream; drop \"stream\": true")
    if len(items) != 1:
        raise BadInput("streaming takes exactly one input")

    async def events():
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()

        def produce():
            pieces = task.stream(items[0])
            try:
                with slot.lock:
                    for piece in pieces:
                        if cancelled.is_set():  # the client went away: stop generating, free the model
                            break
                        loop.call_soon_threadsafe(queue.put_nowait, ("piece", piece))
            except Exception as exc:  # noqa: BLE001 - reported to the client as an event, not a dropped connection
                loop.call_soon_threadsafe(queue.put_nowait, ("error", str(exc)))
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
                yield f"data: {json.dumps({kind: value}, ensure_ascii=False)}\n\n"
            yield "data: [DONE]\n\n"
            await worker
        finally:
            cancelled.set()  # on a disconnect the worker sees this after its current token and stops

    return StreamingResponse(events(), media_type="text/event-stream")
