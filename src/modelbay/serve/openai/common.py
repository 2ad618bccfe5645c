"""What the OpenAI-compatible adapters share: the model name a request means, the base request body, time."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from ...core.catalog import get_spec, list_models
from ...core.errors import ModelbayError, ModelNotFound
from ...core.registry import get_task

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


def now_s() -> int:
    return int(time.time())


async def first_event(events: AsyncIterator) -> Any:
    """The first ``(piece, output)`` of a generation, or None; load and prompt errors raise here, before any byte
    of the response is sent, so they are a plain 4xx/5xx."""
    try:
        return await anext(events)
    except StopAsyncIteration:
        return None
    except BaseException:
        await events.aclose()
        raise


async def completion_chunks(first: Any, events: AsyncIterator, chunk: Callable[..., str],
                            closing: Callable[[Any], Iterable[str]]) -> AsyncIterator[str]:
    """A ``chat.completion.chunk`` stream: the role, one chunk per piece, ``closing(output)``, then ``[DONE]``.

    ``chunk(delta)`` renders one event; errors after the first byte travel as a ``data: {"error": …}``
    event (the openai package raises it as an APIError); closing the stream stops the generation.
    """
    output, pending = None, [first] if first is not None else []
    try:
        yield chunk({"role": "assistant", "content": ""})
        while True:
            for piece, final in pending:
                if piece:
                    yield chunk({"content": piece})
                output = final or output
            try:
                pending = [await anext(events)]
            except StopAsyncIteration:
                break
        for line in closing(output):
            yield line
    except ModelbayError as exc:
        yield f"data: {json.dumps({'error': exc.to_dict()}, ensure_ascii=False)}\n\n"
    except Exception as exc:  # noqa: BLE001 - the response has started; the error travels as an event
        yield f"data: {json.dumps({'error': {'code': 'internal_error', 'message': str(exc)}})}\n\n"
    finally:
        await events.aclose()  # a client that went away stops the generation
    yield "data: [DONE]\n\n"

