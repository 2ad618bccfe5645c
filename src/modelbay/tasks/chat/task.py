"""Chat: an instruction-tuned LLM with sampling, stop strings and token streaming.

The model is a catalog LLM run by the shared runtime in ``ml/llm`` (llama.cpp for
GGUF files, transformers for checkpoints): the task only maps its inputs to
``GenerationSettings`` and the runtime's ``Generated`` to its output. Each request
keeps its own sampling settings, seed and stop strings, however the runtime batches.

A prompt is bounded twice: its characters (system, prompt and messages together)
at validation, before anything is tokenised, and its tokens (the model's context)
by the runtime, which tokenises one conversation at a time and stops at the first too long.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...core.errors import BadInput
from ...core.protocols import Generating, ScoresRecords
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput
from ...ml.llm.api import GenerationSettings
from ...ml.llm.loading import DEFAULT_LANGUAGE_MODEL

MAX_TEXT_CHARS = 100_000


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(..., max_length=MAX_TEXT_CHARS)


DEFAULT_NEW_TOKENS = 256


class ChatInput(TaskInput):
    """A conversation (``messages``) or a single user turn (``prompt``), plus how to sample the reply."""

    prompt: str | None = Field(None, min_length=1, max_length=MAX_TEXT_CHARS, description="one user message")
    messages: list[ChatMessage] | None = Field(
        None, min_length=1, max_length=256, description="the conversation so far, oldest first"
    )
    system: str | None = Field(None, max_length=MAX_TEXT_CHARS, description="system prompt put before the messages")
    max_new_tokens: int | None = Field(
        None, ge=1, le=4096, validate_default=True,  # None becomes the default in the validator below
        description="most tokens to generate (default 256, or MODELBAY_LIMIT_MAX_NEW_TOKENS when that is lower)",
    )
    temperature: float = Field(
        0.2, ge=0.0, le=2.0, description="0 is greedy (deterministic); higher is more varied"
    )
    top_p: float = Field(0.9, gt=0.0, le=1.0, description="nucleus sampling: keep the most likely tokens up to this mass")
    top_k: int = Field(0, ge=0, le=1000, description="keep only the k most likely tokens (0: no limit)")
    repetition_penalty: float = Field(1.1, ge=1.0, le=2.0, description="1.0 is none; small models loop without it")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="makes sampling reproducible")
    stop: list[str] = Field(
        default_factory=list, max_length=8, description="end the reply before the first of these strings"
    )

    @field_validator("max_new_tokens", mode="before")
    @classmethod
    def _within_server_limit(cls, value):
        from ...core.settings import new_tokens_within_limit

        return new_tokens_within_limit(value, DEFAULT_NEW_TOKENS)

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop_string(cls, value):
        return [value] if isinstance(value, str) else value

    @field_validator("stop")
    @classmethod
    def _no_empty_stop(cls, value: list[str]) -> list[str]:
        if any(not s for s in value):
            raise ValueError("stop strings must not be empty")
        return value

    @model_validator(mode="after")
    def _one_conversation(self):
        if (self.prompt is None) == (self.messages is None):
            given = "both" if self.prompt is not None else "neither"
            raise ValueError(f"give 'prompt' (a string) or 'messages' (a list of {{role, content}}); {given} given")
        if self.system is not None and self.messages and self.messages[0].role == "system":
            raise ValueError("'system' given twice: as a field and as the first message")
        return self

    @model_validator(mode="after")
    def _prompt_within_limit(self):
        # checked before tokenising: tokenising 256 messages of 100k characters took 13 s of CPU and
        # +1.7 GB of memory, only to find the prompt too long for the model's context
        from ...core.settings import get_settings

        limit = get_settings().limits.max_text_chars
        size = self.prompt_chars()
        if size > limit:
            raise ValueError(f"the conversation is {size:,} characters (system, prompt and messages together); "
                             f"the limit is {limit:,} (MODELBAY_LIMIT_MAX_TEXT_CHARS): shorten or drop earlier messages")
        return self

    def prompt_chars(self) -> int:
        """Characters of the conversation (system, prompt and every message), the template's markup excluded."""
        turns = [m.content for m in self.messages] if self.messages else [self.prompt or ""]
        return sum(map(len, turns)) + len(self.system or "")

    def settings(self) -> GenerationSettings:
        """How to sample the reply, for the language model."""
        return GenerationSettings(
            max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p, top_k=self.top_k,
            repetition_penalty=self.repetition_penalty, seed=self.seed, stop=tuple(self.stop),
        )

    def conversation(self) -> list[dict[str, str]]:
        """The messages the chat template sees."""
        turns = [m.model_dump() for m in self.messages] if self.messages else [{"role": "user", "content": self.prompt}]
        return ([{"role": "system", "content": self.system}] if self.system is not None else []) + turns


class ChatUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int = Field(..., description="tokens generated, the end-of-turn token included")
    total_tokens: int
    cached_prompt_tokens: int = Field(
        0, description="prompt tokens not read again: an earlier request (this chat's last turn, a shared system "
                       "prompt) left them in the model's cache"
    )

    def __eq__(self, other: object) -> bool:
        """Equal token counts: what the cache held says how a reply was computed, not what it is."""
        if not isinstance(other, ChatUsage):
            return NotImplemented
        counts = ("prompt_tokens", "completion_tokens", "total_tokens")
        return all(getattr(self, name) == getattr(other, name) for name in counts)


class ChatOutput(TaskOutput):
    text: str = Field(..., description="the reply")
    finish_reason: Literal["stop", "length"] = Field(
        ..., description="'stop': the model ended its turn or a stop string came; 'length': max_new_tokens ran out"
    )
    usage: ChatUsage

    def summary(self) -> str:
        return self.text


@register
class Chat(Task[ChatInput, ChatOutput], Generating, ScoresRecords):
    name = "chat"
    aliases = ("text-generation", "chat-completion", "llm")
    description = "Reply to a conversation with an instruction-tuned LLM (zh, en); streams tokens"
    Input = ChatInput
    Output = ChatOutput
    default_model = DEFAULT_LANGUAGE_MODEL
    primary_field = "prompt"
    batch_invariant = False  # LLM text (see Task.batch_invariant)
    #: `modelbay eval chat --data texts.jsonl`: perplexity of the model on each record's "text"
    metric_family = "language-model"
    target_field = "text"
    example_inputs = (
        {"prompt": "What is the capital of France?", "temperature": 0, "max_new_tokens": 8},
        {"messages": [{"role": "user", "content": "Say hello."}], "temperature": 0, "max_new_tokens": 6},
    )

    @classmethod
    def load_data(cls, path, options):
        """Texts to score: a table (CSV/TSV/JSONL/JSON/Parquet) with a ``text`` column (``--text-col``)."""
        from ...data.loaders import read_table

        column = options.get("text_col") or "text"
        records = []
        for line, row in read_table(path, fmt=options.get("format")):
            value = row.get(column)
            if not isinstance(value, str) or not value.strip():
                raise BadInput(f"{path}:{line}: no text in column {column!r}; columns present: {sorted(row)}",
                               hint="name the text column with --text-col")
            records.append({"text": value})
        return records

    def eval_predictions(self, records):
        """Per-token natural-log likelihoods of each record's text (its first token is given, not scored)."""
        return [self.llm.token_logprobs(rec["text"]) for rec in records]

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        from ...ml.llm import language_model

        # the catalog's shared copy: the assistant and others asking for this model use the same weights
        self.llm = language_model(model.spec.name, device)
        self.context_tokens = self.llm.context_tokens
        # llama.cpp's engine batches concurrent requests itself (continuous batching): the server lets
        # streams run side by side instead of one at a time
        self.concurrent_streams = getattr(self.llm, "runtime", None) == "llama.cpp"

    def preprocess(self, items: list[ChatInput]):
        return [(item.conversation(), item.settings()) for item in items]

    def _forward(self, batch):
        conversations, settings = zip(*batch)
        return self.llm.complete_batch(conversations, settings)

    def postprocess(self, raw, items):
        return [_output(generated) for generated in raw]

    def stream(self, item: ChatInput) -> Iterator[str]:
        """Yield the reply in pieces as tokens are generated; closing the iterator stops generation.

        >>> "".join(pipeline("chat").stream("Say hi"))  # doctest: +SKIP
        """
        for piece, _ in self.generate(item):
            if piece:
                yield piece

    def generate(self, item: ChatInput) -> Iterator[tuple[str, ChatOutput | None]]:
        """Yield ``(piece, None)`` as tokens come, then ``(last piece, ChatOutput)`` (finish reason, usage).

        For protocol adapters (OpenAI-style streams end with a finish reason and usage).
        """
        pieces = self.llm.stream(item.conversation(), item.settings())
        try:
            for piece, generated in pieces:
                yield piece, None if generated is None else _output(generated)
        finally:
            pieces.close()  # a consumer that stops iterating stops the generation


def _output(generated) -> ChatOutput:
    prompt, completion = generated.prompt_tokens, generated.completion_tokens
    return ChatOutput(
        text=generated.text,
        # a cancelled row's output is never delivered (its request is gone); "length" -- cut short -- keeps
        # the output schema what clients know
        finish_reason="length" if generated.finish_reason == "cancelled" else generated.finish_reason,
        usage=ChatUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                        cached_prompt_tokens=generated.cached_prompt_tokens),
    )
