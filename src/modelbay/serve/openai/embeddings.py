"""``POST /v1/embeddings``: OpenAI's embeddings request in, the embeddings task's vectors out."""

from __future__ import annotations

import base64
from typing import Literal

import anyio
from fastapi import FastAPI
from pydantic import Field

from ...core.errors import BadInput
from ...core.protocols import token_count
from ...core.settings import get_settings
from ..context import ServerContext
from .common import OpenAIRequest, model_for


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


def install_embeddings(app: FastAPI, ctx: ServerContext) -> None:
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
        tokens = await anyio.to_thread.run_sync(token_count, task, texts)  # words where the model cannot count
        return {"object": "list", "data": data, "model": task.model.spec.name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _encode(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format == "float":
        return vector
    import numpy as np

    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
