"""``POST /v1/chat/completions`` on the chat task: sampling parameters, n, stop, and SSE streaming.

Streaming sends ``chat.completion.chunk`` events exactly as OpenAI does: a first
chunk with the assistant role, one chunk per text piece, a last chunk with the
finish reason (and, with ``stream_options.include_usage``, a usage chunk with no
choices), then ``data: [DONE]``. Errors before the first token are ordinary 4xx/5xx
responses; later ones travel as a ``data: {"error": …}`` event, which the openai
package raises as an APIError.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import BadInput
from ..context import ServerContext
from .assistant import assistant_completion, assistant_item, assistant_stream, is_assistant_model
from .common import OpenAIRequest, completion_chunks, first_event, model_for, now_s

ROUTE = "/v1/chat/completions"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")  # name, tool_calls: None, … from clients

    role: str
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatCompletionRequest(OpenAIRequest):
    """The OpenAI fields modelbay uses; OpenAI's others (user, presence_penalty, …) are ignored, unknown ones refused."""

    OPENAI_IGNORED = frozenset({
        "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "metadata", "modalities",
        "moderation", "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key",
        "prompt_cache_options", "prompt_cache_retention", "reasoning_effort", "safety_identifier", "service_tier",
        "store", "tool_choice", "top_logprobs", "user", "verbosity", "web_search_options",
    })

    model: str = Field("default", description="catalog chat model, 'default', or 'assistant-<kb>' to answer from "
                       "the knowledge base <kb> with sources")
    messages: list[Message] = Field(..., description="the conversation, oldest first")
    max_tokens: int | None = Field(None, ge=1, description="most tokens to generate (older name)")
    max_completion_tokens: int | None = Field(None, ge=1, description="most tokens to generate")
    temperature: float | None = Field(None, ge=0.0, le=2.0, description="default: the chat task's (0.2)")
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0, description="modelbay extension (as in vLLM)")
    repetition_penalty: float | None = Field(None, ge=1.0, le=2.0, description="modelbay extension (as in vLLM)")
    seed: int | None = Field(None, ge=0, description="choice i samples with seed + i")
    stop: str | list[str] | None = None
    n: int = Field(1, ge=1, le=8, description="number of choices; they run as one batch")
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: bool | None = None
    tools: list[Any] | None = None
    response_format: dict[str, Any] | None = None


def _text(message: Message, index: int) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    parts = []
    for j, part in enumerate(message.content):
        if part.type != "text" or part.text is None:
            raise BadInput(f"messages[{index}].content[{j}]: only text parts are supported, got type {part.type!r}")
        parts.append(part.text)
    return "\n".join(parts)


def _unsupported(body: ChatCompletionRequest) -> None:
    if body.logprobs:
        raise BadInput("logprobs: not supported by modelbay; leave it out or send false")
    if body.tools:
        raise BadInput("tools: function calling is not supported by modelbay's chat models")
    if body.response_format and body.response_format.get("type", "text") != "text":
        raise BadInput(f"response_format: only {{'type': 'text'}} is supported, got {body.response_format.get('type')!r}")
    if body.stream and body.n > 1:
        raise BadInput("n: streaming returns one choice; send n=1 with stream=true, or stream=false")


def _messages(body: ChatCompletionRequest) -> list[dict[str, str]]:
    messages = []
    for i, m in enumerate(body.messages):
        role = "system" if m.role == "developer" else m.role  # OpenAI's newer name for the system role
        if role not in ("system", "user", "assistant"):
            raise BadInput(f"messages[{i}].role: {m.role!r} is not supported; use system, user or assistant")
        messages.append({"role": role, "content": _text(m, i)})
    return messages


def chat_items(body: ChatCompletionRequest) -> list:
    """One validated chat-task input per choice."""
    from ...tasks.chat.task import Chat

    _unsupported(body)
    messages = _messages(body)
    fields: dict[str, Any] = {"messages": messages}
    max_tokens = body.max_completion_tokens or body.max_tokens
    for key, value in (("max_new_tokens", max_tokens), ("temperature", body.temperature), ("top_p", body.top_p),
                       ("top_k", body.top_k), ("repetition_penalty", body.repetition_penalty),
                       ("stop", body.stop)):
        if value is not None:
            fields[key] = value
    items = []
    for i in range(body.n):
        seed = None if body.seed is None else body.seed + i  # reproducible, yet the choices differ
        items.append(Chat.coerce({**fields, "seed": seed}, field="request"))
    return items


def _usage(outputs) -> dict:
    prompt = outputs[0].usage.prompt_tokens  # the same prompt for every choice: counted once, as OpenAI does
    completion = sum(o.usage.completion_tokens for o in outputs)
    cached = outputs[0].usage.cached_prompt_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached}}


def install_chat(app: FastAPI, ctx: ServerContext) -> None:
    @app.post(ROUTE, tags=["openai"], summary="OpenAI-compatible chat completions (stream: true for SSE)")
    async def create_chat_completion(body: ChatCompletionRequest, request: Request):
        if is_assistant_model(body.model):  # "assistant-<kb>": answers from a knowledge base, with sources
            _unsupported(body)
            item = assistant_item(body, [(m["role"], m["content"]) for m in _messages(body)])
            if body.stream:
                return await assistant_stream(ctx, body, item)
            return await assistant_completion(ctx, body, item, request)
        model = model_for("chat", body.model, ROUTE)
        items = chat_items(body)
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return await _stream_response(ctx, model, items[0], include_usage)
        task, outputs = await ctx.run("chat", model, items, request=request)  # its client: fair queue, hang-ups
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": now_s(),
            "model": task.model.spec.name, "system_fingerprint": None,
            "choices": [{"index": i, "message": {"role": "assistant", "content": o.text, "refusal": None},
                         "logprobs": None, "finish_reason": o.finish_reason} for i, o in enumerate(outputs)],
            "usage": _usage(outputs),
        }


async def _stream_response(ctx: ServerContext, model: str, item, include_usage: bool) -> StreamingResponse:
    events = ctx.stream("chat", model, item, method="generate")  # yields (piece, None)…, then (piece, ChatOutput)
    first = await first_event(events)
    chunk_id, created = f"chatcmpl-{uuid.uuid4().hex}", now_s()

    def chunk(delta: dict, finish: str | None = None, *, choices: bool = True, usage: dict | None = None) -> str:
        body: dict[str, Any] = {"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": model,
                                "system_fingerprint": None,
                                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
                                if choices else []}
        if include_usage:
            body["usage"] = usage
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def closing(output) -> list[str]:
        lines = [chunk({}, output.finish_reason if output else "stop")]
        if include_usage and output is not None:
            lines.append(chunk({}, choices=False, usage=_usage([output])))
        return lines

    return StreamingResponse(completion_chunks(first, events, chunk, closing), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})
