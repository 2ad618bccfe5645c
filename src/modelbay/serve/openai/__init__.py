"""OpenAI-compatible routes: /v1/embeddings, /v1/chat/completions, /v1/audio/transcriptions.

A protocol adapter: it translates OpenAI request bodies into task inputs and task
outputs into OpenAI response bodies, and runs models only through
:meth:`ServerContext.run` / :meth:`ServerContext.stream`, so batching, queue
limits, timeouts and model lifecycle apply as on ``/v1/tasks/*``.
``/v1/models`` lives in app.py (it lists every catalog model).

Model names: a catalog name of the route's task (``all-minilm-l6-v2``), ``"default"``
(the task's default model), or, for transcription only, ``"whisper-1"`` (the same
model family). Anything else is a 404 that lists the models the route takes: GPT or
text-embedding-3 names are refused rather than silently served by a different model.
"""

from __future__ import annotations

import base64
import time
from typing import Any, ClassVar, Literal

import anyio
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..core.catalog import get_spec, list_models
from ..core.errors import BadInput, ModelNotFound
from ..core.registry import get_task
from ..core.settings import get_settings
from .context import ServerContext

#: OpenAI model ids accepted as the task's default model (same model family, comparable answers)
OPENAI_ALIASES: dict[str, frozenset[str]] = {"speech-recognition": frozenset({"whisper-1"})}


def model_for(task: str, requested: str | None, route: str) -> str:
    """The catalog model a request's ``model`` names for ``task``; 404 listing the valid names otherwise.

    >>> model_for("embeddings", "default", "/v1/embeddings")
    'all-minilm-l6-v2'
    """
    cls = get_task(task)
    name = (requested or "").strip()
    if name in ("", "default") or name in OPENAI_ALIASES.get(cls.name, ()):
        return cls.default_model
    try:  # the common case, on every request: one lookup, no listing of the catalog and the store
        match = get_spec(name)
    except ModelNotFound:
        match = None
    if match is not None and cls.runs_models_of(match.task):
        return match.name
    valid = sorted(s.name for s in list_models() if cls.runs_models_of(s.task))
    what = f"is a {match.task!r} model" if match is not None else "is not a model here"
    aliases = sorted(OPENAI_ALIASES.get(cls.name, ()))
    raise ModelNotFound(
        f"model {name!r} {what}; {route} takes {cls.name!r} models: {', '.join([*valid, 'default', *aliases])}",
        hint="GET /v1/models lists every model with its task",
    )


def install(app: FastAPI, ctx: ServerContext) -> None:
    """Add the OpenAI-compatible routes to ``app`` (called by ``create_app``)."""
    from .audio import install_audio
    from .chat import install_chat

    _install_embeddings(app, ctx)
    install_chat(app, ctx)
    install_audio(app, ctx)


class OpenAIRequest(BaseModel):
    """A request body of an OpenAI-compatible route: OpenAI's fields in, anything else is a 422 naming it.

    Fields OpenAI defines that modelbay has no use for (``OPENAI_IGNORED``: ``user``,
    ``presence_penalty``, …) are accepted and dropped, because the official clients and
    the frameworks built on them send them. A field OpenAI does not define is refused,
    as OpenAI itself refuses it ("Unrecognized request argument"): a misspelt
    ``max_token`` must not silently fall back to the default.
    """

    model_config = ConfigDict(extra="forbid")
    OPENAI_IGNORED: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _drop_ignored_openai_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and not cls.OPENAI_IGNORED.isdisjoint(data):
            return {k: v for k, v in data.items() if k not in cls.OPENAI_IGNORED}
        return data


# -- /v1/embeddings ------------------------------------------------------------------

class EmbeddingsRequest(OpenAIRequest):
    OPENAI_IGNORED = frozenset({"user"})

    model: str = Field("default", description="catalog embeddings model, or 'default'")
    input: str | list[str] | list[int] | list[list[int]] = Field(..., description="a text or a list of texts")
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="'base64': little-endian float32 bytes (what the openai package asks for)"
    )
    dimensions: int | None = Field(None, ge=1, description="must equal the model's size; vectors are not shortened")


def _texts(value) -> list[str]:
    texts = [value] if isinstance(value, str) else list(value)
    if any(not isinstance(t, str) for t in texts):
        raise BadInput("input: token arrays are not supported; send the text itself (a string or a list of strings)")
    if not texts:
        raise BadInput("input: the list is empty; send at least one text")
    limit = get_settings().limits.max_items
    if len(texts) > limit:
        raise BadInput(f"input: {len(texts)} texts; the limit is {limit} per request (MODELBAY_LIMIT_MAX_ITEMS)")
    return texts


def _token_count(task, texts: list[str]) -> int:
    """Tokens the model read, where its tokenizer is reachable; otherwise whitespace-separated words."""
    model = getattr(getattr(task, "backend", None), "model", None)
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None or not callable(tokenizer):
        return sum(len(t.split()) for t in texts)
    cap = getattr(model, "max_seq_length", None) or 10**9  # longer texts are truncated before the model sees them
    ids = tokenizer(texts, add_special_tokens=True)["input_ids"]
    return sum(min(len(row), cap) for row in ids)


def _install_embeddings(app: FastAPI, ctx: ServerContext) -> None:
    from ...tasks.embeddings.task import Embeddings

    @app.post("/v1/embeddings", tags=["openai"], summary="OpenAI-compatible embeddings")
    async def create_embeddings(body: EmbeddingsRequest) -> dict:
        model = model_for(Embeddings.name, body.model, "/v1/embeddings")
        texts = _texts(body.input)
        items = [Embeddings.coerce(t, field=f"input[{i}]" if len(texts) > 1 else "input") for i, t in enumerate(texts)]
        task, outputs = await ctx.run(Embeddings.name, model, items)
        dim = outputs[0].dim
        if body.dimensions is not None and body.dimensions != dim:
            raise BadInput(f"dimensions: {model!r} gives {dim}-dimensional vectors and cannot shorten them",
                           hint=f"leave 'dimensions' out or send {dim}")
        data = [{"object": "embedding", "index": i, "embedding": _encode(o.embedding, body.encoding_format)}
                for i, o in enumerate(outputs)]
        tokens = await anyio.to_thread.run_sync(_token_count, task, texts)
        return {"object": "list", "data": data, "model": task.model.spec.name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _encode(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format == "float":
        return vector
    import numpy as np

    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def now_s() -> int:
    return int(time.time())
