"""``POST /v1/chat/completions`` with ``model: "assistant-<kb>"``: the assistant behind the OpenAI chat protocol.

Chat UIs and the ``openai`` client talk to a knowledge base unchanged: the last user message is
the question, the earlier turns resolve follow-ups, and the reply carries the assistant's extras
next to OpenAI's fields — ``sources`` (the passages, with ``cited``) and ``assistant`` (``mode``,
``handoff``, ``confidence``, ``conversation_id``). The ``openai`` package keeps unknown fields,
so ``completion.sources`` / ``completion.model_extra["sources"]`` reads them. Streaming sends the
answer's pieces as usual chunks; the last chunk (with the finish reason) carries the extras.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.responses import StreamingResponse

from ...core.errors import BadInput
from ..context import ServerContext
from .common import completion_chunks, first_event, now_s

PREFIX = "assistant-"


def is_assistant_model(name: str | None) -> bool:
    return bool(name) and name.startswith(PREFIX) and len(name) > len(PREFIX)


def assistant_item(body, texts: list[tuple[str, str]]):
    """The assistant's input from a chat completion request: ``texts`` are (role, text) of the messages."""
    from ...tasks.assistant.task import Assistant

    if body.n != 1:
        raise BadInput(f"n: the assistant gives one answer; send n=1 (got {body.n})")
    turns = [(role, text) for role, text in texts if role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise BadInput("messages: the last message must be the user's question")
    fields: dict[str, Any] = {
        "kb": body.model[len(PREFIX):], "question": turns[-1][1],
        "history": [{"role": role, "content": text} for role, text in turns[:-1]][-6:],
    }
    max_tokens = body.max_completion_tokens or body.max_tokens
    if max_tokens is not None:
        fields["max_new_tokens"] = min(max_tokens, 1024)
    return Assistant.coerce(fields, field="request")


def _extras(output) -> dict[str, Any]:
    return {"sources": [s.model_dump() for s in output.sources],
            "assistant": {k: getattr(output, k) for k in ("mode", "handoff", "confidence", "conversation_id",
                                                          "language", "standalone_question", "note")}}


async def assistant_completion(ctx: ServerContext, body, item, request) -> dict:
    _, (output,) = await ctx.run("assistant", None, [item], request=request)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": now_s(), "model": body.model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": output.answer, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": None, **_extras(output),
    }


async def assistant_stream(ctx: ServerContext, body, item) -> StreamingResponse:
    events = ctx.stream("assistant", None, item, method="generate")
    first = await first_event(events)  # retrieval and load errors: a plain 4xx/5xx before any event
    chunk_id, created = f"chatcmpl-{uuid.uuid4().hex}", now_s()

    def chunk(delta: dict, finish: str | None = None, extras: dict | None = None) -> str:
        data = {"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": body.model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **(extras or {})}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    def closing(output) -> list[str]:
        return [chunk({}, "stop", _extras(output) if output is not None else None)]

    return StreamingResponse(completion_chunks(first, events, chunk, closing), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})
