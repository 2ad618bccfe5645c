"""Chat: an instruction-tuned LLM (SmolLM2-135M-Instruct, English) with sampling and token streaming.

The model ships as GGUF inside a package; the first load converts it and caches
a safetensors copy (see ``_gguf_cache``). Generation is a hand-written loop
(``_decoding``): batched with per-item parameters, so one request's sampling
settings, seed and stop strings never leak into another's.

A prompt is bounded twice: its characters (system, prompt and messages together)
at validation, before anything is tokenised, and its tokens (the model's context)
after tokenising that one item.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...core.cancel import all_cancelled
from ...core.errors import BadInput
from ...core.protocols import Generating, ScoresRecords
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput

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
        from ...core.settings import get_settings

        limit = get_settings().limits.max_new_tokens
        if value is None:
            return min(DEFAULT_NEW_TOKENS, limit)
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            raise ValueError(f"{value} new tokens asked; the limit is {limit} (MODELBAY_LIMIT_MAX_NEW_TOKENS)")
        return value

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

    def conversation(self) -> list[dict[str, str]]:
        """The messages the chat template sees."""
        turns = [m.model_dump() for m in self.messages] if self.messages else [{"role": "user", "content": self.prompt}]
        return ([{"role": "system", "content": self.system}] if self.system is not None else []) + turns


class ChatUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int = Field(..., description="tokens generated, the end-of-turn token included")
    total_tokens: int


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
    aliases = ("text-generation", "chat-completion", "llm", "assistant")
    description = "Reply to a conversation with an instruction-tuned LLM (en); streams tokens"
    Input = ChatInput
    Output = ChatOutput
    default_model = "smollm2-135m-instruct"
    primary_field = "prompt"
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
        import torch

        scores = []
        for rec in records:
            ids = self.tokenizer(rec["text"], add_special_tokens=False)["input_ids"][: self.context_tokens]
            if len(ids) < 2:
                raise BadInput(f"text {rec['text'][:40]!r} is under 2 tokens; perplexity needs at least 2")
            with torch.inference_mode():
                logits = self.lm(torch.tensor([ids], device=self.lm.device)).logits[0, :-1].float()
            logp = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(ids[1:], device=logits.device)[:, None])
            scores.append(logp[:, 0].tolist())
        return scores

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        from .gguf_cache import load_causal_lm  # threads: MODELBAY_NUM_THREADS, applied by core.loading
        gguf_file = model.spec.options.get("gguf_file")
        if not gguf_file:
            raise ValueError(f"model {model.spec.name!r}: options.gguf_file is missing from its catalog spec")
        self.lm, self.tokenizer = load_causal_lm(model, gguf_file, device)
        gen = self.lm.generation_config
        eos = gen.eos_token_id if isinstance(gen.eos_token_id, list) else [gen.eos_token_id]
        # end-of-text ends a reply as surely as end-of-turn does
        ends = [self.tokenizer.eos_token, "<|endoftext|>", "<|im_end|>", "<|eot_id|>"]
        vocab = self.tokenizer.get_vocab()
        self.eos_ids = {i for i in eos if i is not None} | {vocab[t] for t in ends if t in vocab}
        self.pad_id = gen.pad_token_id if gen.pad_token_id is not None else min(self.eos_ids)
        self.context_tokens = int(getattr(self.lm.config, "max_position_embeddings", 2048))

    def _request(self, item: ChatInput):
        from .decoding import GenerationRequest

        text = self.tokenizer.apply_chat_template(item.conversation(), add_generation_prompt=True, tokenize=False)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        room = self.context_tokens - len(ids)
        if room < 1:
            raise BadInput(
                f"the conversation is {len(ids)} tokens; the model reads at most {self.context_tokens}",
                hint="drop or shorten earlier messages",
            )
        return GenerationRequest(
            prompt_ids=ids, max_new_tokens=min(item.max_new_tokens, room), temperature=item.temperature,
            top_p=item.top_p, top_k=item.top_k, repetition_penalty=item.repetition_penalty, seed=item.seed,
            stop=list(item.stop),
        )

    def preprocess(self, items: list[ChatInput]):
        from .decoding import GenerationRequest

        requests = []
        for item in items:
            if all_cancelled():  # every request is gone (server): tokenise no more; generation stops at once
                placeholder = GenerationRequest(prompt_ids=[self.pad_id], max_new_tokens=1)
                return requests + [placeholder] * (len(items) - len(requests))
            requests.append(self._request(item))
        return requests

    def _forward(self, batch):
        from .decoding import decode

        rows = None
        for rows in decode(self.lm, self.tokenizer, batch, self.eos_ids, self.pad_id):
            pass
        return rows

    def postprocess(self, raw, items):
        return [_output(row) for row in raw]

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
        from .decoding import decode

        emitted, row = 0, None
        for (row,) in decode(self.lm, self.tokenizer, [self._request(item)], self.eos_ids, self.pad_id):
            text = row.settled_text()
            if len(text) > emitted and not row.done:
                yield text[emitted:], None
                emitted = len(text)
        yield row.text[emitted:], _output(row)


def _output(row) -> ChatOutput:
    prompt = len(row.request.prompt_ids)
    return ChatOutput(
        text=row.text,
        # a cancelled row's output is never delivered (its request is gone); "length" -- cut short -- keeps
        # the output schema what clients know
        finish_reason="length" if row.finish_reason == "cancelled" else row.finish_reason,
        usage=ChatUsage(prompt_tokens=prompt, completion_tokens=row.completion_tokens,
                        total_tokens=prompt + row.completion_tokens),
    )
