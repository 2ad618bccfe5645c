"""modelbay's server with one extra task that does nothing, to measure the server's own overhead.

    python bench/noop_server.py PORT          # modelbay app + a registered no-op task
    python bench/noop_server.py PORT --plain  # a bare FastAPI endpoint doing the same nothing
"""

from __future__ import annotations

import sys

import uvicorn
from pydantic import BaseModel, Field

from modelbay.core.catalog import ResolvedModel, list_models
from modelbay.core.registry import register
from modelbay.core.task import Task, TaskInput, TaskOutput


class NoOpIn(TaskInput):
    text: str = Field(..., min_length=1)


class NoOpOut(TaskOutput):
    text: str


@register
class NoOp(Task[NoOpIn, NoOpOut]):
    name = "noop"
    description = "returns its input (benchmark only)"
    Input = NoOpIn
    Output = NoOpOut
    default_model = "noop"
    example_inputs = ("a", "b")

    def _forward(self, batch):
        return [NoOpOut(text=item.text) for item in batch]


def modelbay_app():
    from modelbay.serve.app import create_app
    from modelbay.serve.config import ServerConfig

    app = create_app(ServerConfig())  # defaults: metrics and the JSON access log on
    ctx = app.state.ctx
    spec = list_models()[0].model_copy(update={"name": "noop", "task": "noop"})
    task = NoOp()
    task.setup(ResolvedModel(spec, path=__import__("pathlib").Path("."), source="bench"))
    ctx.pool.slot(("noop", "noop")).task = task  # pre-loaded: there are no weights to resolve
    return app


class PlainBody(BaseModel):  # module level: a class inside the function would not resolve as an annotation
    inputs: list[str]


def plain_app():
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/v1/tasks/noop")
    async def noop(body: PlainBody):
        return {"outputs": [{"text": t} for t in body.inputs]}

    @app.get("/readyz")
    async def ready():
        return {"status": "ready"}

    return app


if __name__ == "__main__":
    app = plain_app() if "--plain" in sys.argv else modelbay_app()
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
