"""The FastAPI app, generated from the task registry: no task-specific code here."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from starlette.requests import ClientDisconnect

from ..core.errors import BadInput, ModelbayError, UnknownTask
from ..core.inventory import models_table, tasks_table
from ..core.protocols import Rendering, ReportsProgress, Streaming
from ..core.registry import all_tasks, get_task, task_names
from ..core.settings import get_settings
from ..core.task import Task
from ..core.version import __version__
from .config import ServerConfig
from .content_type import JSONByDefault
from .context import ServerContext, current_request
from .docs_assets import install_docs
from .error_handlers import error_response, install_error_handlers
from .limits import BodySizeLimit
from .pool import ModelPool
from .request_inputs import inputs_annotation

log = logging.getLogger("modelbay.serve")

#: parts of the server with an install(app, ctx); the order is the middleware order (last added = outermost)
EXTENSIONS = ("auth", "browser_guard", "metrics", "openai", "jobs", "kb", "events")


def _request_model(cls: type[Task]) -> type[BaseModel]:
    limits = get_settings().limits
    return create_model(
        f"{cls.__name__}Request",
        __config__=ConfigDict(extra="forbid"),  # a misspelt "modle" must not silently run the default model
        inputs=(inputs_annotation(cls.Input, accepts_text=bool(cls.primary_field)), Field(..., description=f"one item or a list of at most {limits.max_items}")),
        model=(str | None, Field(None, description=f"catalog model name (default {cls.default_model})")),
        stream=(bool, Field(False, description="server-sent events of output pieces, or of progress then the output "
                                               "(single input; tasks that stream or report progress)")),
        render=(bool, Field(False, description="also return a picture of each result (tasks that render): "
                                               "\"renders\": [{\"media_type\", \"data\": base64}]")),
    )


class Rendered(BaseModel):
    media_type: str = Field(..., description="image/png, or video/mp4 for video")
    data: str = Field(..., description="the file, base64-encoded")


def _response_model(cls: type[Task]) -> type[BaseModel]:
    fields = {"task": (str, ...), "model": (str, ...), "outputs": (list[cls.Output], ...)}
    if issubclass(cls, Rendering):
        fields["renders"] = (list[Rendered] | None, Field(None, description='one per output, with "render": true'))
    return create_model(f"{cls.__name__}Response", **fields)


def create_app(config: ServerConfig | None = None) -> FastAPI:
    config = config or ServerConfig()
    budget = int(config.memory_budget_gb * 1024**3) if config.memory_budget_gb else None
    ctx = ServerContext(config, ModelPool(memory_budget_bytes=budget))
    app = FastAPI(title="modelbay", version=__version__, lifespan=_lifespan(ctx), docs_url=None, redoc_url=None,
                  description="Pretrained AI capabilities over HTTP. Every task: POST /v1/tasks/{task}.")
    install_docs(app)  # /docs and /redoc with their assets served locally: FastAPI's pages load them from CDNs
    app.add_middleware(JSONByDefault)
    app.add_middleware(BodySizeLimit, max_bytes=get_settings().limits.max_body_bytes)
    app.state.ctx = ctx
    install_error_handlers(app)
    _add_probes(app, ctx)
    _add_listings(app, ctx)
    for cls in all_tasks():
        _add_task_route(app, ctx, cls)

    @app.post("/v1/tasks/{name}", include_in_schema=False)
    async def unknown_task(name: str):
        get_task(name)  # raises UnknownTask (404) listing valid tasks for a truly unknown name
        raise UnknownTask(f"task {name!r} has no route")

    for name in EXTENSIONS:
        importlib.import_module(f"{__package__}.{name}").install(app, ctx)
    _hot_routes_first(app)
    return app


def _lifespan(ctx: ServerContext):
    """Load the ``preload`` models in the background (``/readyz`` says when); stop the batchers at shutdown."""

    async def preload() -> None:
        entries = [n for e in ctx.config.preload for n in (task_names() if e == "all" else [e])]
        for entry in entries:
            task, _, model = entry.partition("=")
            try:
                await ctx.load(task, model or None)
                log.info("preloaded %s", entry)
            except ModelbayError as exc:
                log.error("preloading %s failed: %s", entry, exc)
        ctx.ready = True

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        loader = asyncio.create_task(preload())
        yield
        loader.cancel()
        for batcher in ctx.batchers.values():
            batcher.stop()

    return lifespan


def _add_probes(app: FastAPI, ctx: ServerContext) -> None:
    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz")
    async def readyz():
        if not ctx.ready:
            return error_response(503, "not_ready", "models are still loading", headers={"Retry-After": "2"})
        return {"status": "ready"}


def _add_listings(app: FastAPI, ctx: ServerContext) -> None:
    @app.get("/v1/tasks")
    async def list_tasks_route() -> dict:
        return {"tasks": tasks_table()}

    @app.get("/v1/models")
    async def list_models_route() -> dict:
        slots = ctx.pool.status()
        rows = await anyio.to_thread.run_sync(models_table)
        data = []
        for r in rows:
            # the pool keys a trained model by name@version; its row is listed by the bare name
            mine = [s for (task, model), s in slots.items() if model == r["name"] or r["source"] == f"artifact:{model}"]
            data.append({
                "id": r["name"], "object": "model", "created": 0, "owned_by": "modelbay", **r,  # created: unknown
                "loaded": any(s.task is not None for s in mine),
                "load_error": next((s.error for s in mine if s.error), None),
            })
        return {"object": "list", "data": data}


def _hot_routes_first(app: FastAPI) -> None:
    """Move the documented POST routes with a fixed path to the front of the route list.

    These are the canonical task routes, the OpenAI-compatible ones and job submission.
    Starlette matches a request against the routes one after another, and
    ``/v1/embeddings`` used to come 41st, behind the docs, the probes and 30 task
    aliases. Fixed paths never overlap, so the order changes no match. Aliases and
    routes with path parameters keep their order after them: ``/v1/tasks/{name}``
    must stay behind every task route.
    """
    def hot(route) -> bool:
        return (isinstance(route, APIRoute) and route.include_in_schema and "POST" in route.methods
                and "{" not in route.path)

    app.router.routes.sort(key=lambda route: not hot(route))  # stable: each group keeps its order


class TaskRoute(APIRoute):
    """A task route: FastAPI's route (the same OpenAPI schema, from the endpoint's signature) with a lean handler.

    FastAPI's generic handler solves dependencies, parses the content type and builds
    closures on every request; a task route has one JSON body and nothing else, so
    this handler reads the body, validates it in one pass with pydantic-core
    (``model_validate_json``, no intermediate Python objects) and calls the endpoint.
    On a busy server that is a large share of the event loop's work per request, and
    the event loop's time between two forward passes is time the model waits
    (docs/serving.md). Errors come out as before: a ``RequestValidationError`` (422
    naming the field) or whatever the endpoint raises.
    """

    def get_route_handler(self):
        endpoint = self.endpoint
        body_model: type[BaseModel] = endpoint.__annotations__["body"]  # set by _add_task_route

        async def handler(request: Request) -> Response:
            try:
                raw = await request.body()
            except ClientDisconnect:
                raise HTTPException(400, "the client disconnected before the request body arrived") from None
            if not raw:
                raise RequestValidationError([{"type": "missing", "loc": ("body",), "input": None,
                                               "msg": 'the request has no body; send JSON like {"inputs": [...]}'}])
            try:
                body = body_model.model_validate_json(raw)
            except ValidationError as exc:
                errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_input=False)]
                for e in errors:
                    if e["type"] == "extra_forbidden" and len(e["loc"]) == 2:  # a top-level field: say which exist
                        e["msg"] = f"unknown field; a request takes {', '.join(body_model.model_fields)}"
                raise RequestValidationError(errors) from None
            current_request.set(request)  # ctx.run: which client asks (fair queue), and its hang-ups
            return await endpoint(body)

        return handler


async def _renders_json(task: Task, items: list, outputs: list) -> bytes:
    """``, "renders": [...]``: each output drawn on its item, off the event loop (drawing and encoding take CPU)."""
    import base64

    def draw() -> list[dict[str, str]]:
        return [{"media_type": task.render_media_type, "data": base64.b64encode(task.render(i, o)).decode("ascii")}
                for i, o in zip(items, outputs)]

    return b', "renders": ' + json.dumps(await anyio.to_thread.run_sync(draw)).encode()


def _add_task_route(app: FastAPI, ctx: ServerContext, cls: type[Task]) -> None:
    Request_ = _request_model(cls)
    Response_ = _response_model(cls)
    outputs_json = TypeAdapter(list[cls.Output])
    max_items = get_settings().limits.max_items

    async def endpoint(body: Request_):  # type: ignore[valid-type]
        values = body.inputs if isinstance(body.inputs, list) else [body.inputs]
        if not values:
            raise BadInput("inputs: the list is empty; send at least one item")
        if len(values) > max_items:
            raise BadInput(f"inputs: {len(values)} items; the limit is {max_items} per request (MODELBAY_LIMIT_MAX_ITEMS)")
        items = [cls.coerce(v, allow_paths=False, field=f"inputs[{i}]") for i, v in enumerate(values)]
        if body.render and not issubclass(cls, Rendering):
            raise BadInput(f"task {cls.name!r} has nothing to draw; drop \"render\": true")
        if body.render and body.stream:
            raise BadInput("\"render\" and \"stream\" do not go together: a stream sends pieces, not pictures",
                           hint="ask for the render without \"stream\": true")
        if body.stream:
            if not issubclass(cls, (Streaming, ReportsProgress)):
                raise BadInput(f"task {cls.name!r} does not stream; drop \"stream\": true")
            if len(items) != 1:
                raise BadInput("streaming takes exactly one input")
            await ctx.load(cls.name, body.model)  # load errors are a 4xx/5xx, before the stream starts
            return StreamingResponse(ctx.sse(cls.name, body.model, items[0]), media_type="text/event-stream")
        task, outputs = await ctx.run(cls.name, body.model, items)
        # serialised once by pydantic-core; the outputs were built by the task's own Output model, so
        # re-validating them against the response model (FastAPI's default) would only cost time
        head = json.dumps({"task": cls.name, "model": task.model.spec.name})[:-1]
        tail = (await _renders_json(task, items, outputs)) if body.render else b""
        return Response(head.encode() + b', "outputs": ' + outputs_json.dump_json(outputs) + tail + b"}",
                        media_type="application/json")

    endpoint.__annotations__["body"] = Request_  # a real class, not the postponed string annotation
    endpoint.__name__ = f"run_{cls.name.replace('-', '_')}"
    for path in {f"/v1/tasks/{n}" for n in (cls.name, *cls.aliases)}:
        app.router.add_api_route(
            path, endpoint, methods=["POST"], response_model=Response_, summary=f"{cls.name}: {cls.description}",
            include_in_schema=path == f"/v1/tasks/{cls.name}", tags=[cls.name], route_class_override=TaskRoute,
        )


__all__ = ["ServerConfig", "create_app", "error_response"]
