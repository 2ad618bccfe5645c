"""The types of the LLM contract (re-exported by ``api.py``, which also loads models): what runtimes implement."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

#: one chat turn, as chat templates take it: {"role": "system"|"user"|"assistant", "content": "..."}
Message = dict[str, str]


@dataclass(frozen=True)
class GenerationSettings:
    """How to sample one reply. ``temperature == 0`` is greedy (``top_p``/``top_k``/``seed`` unused).

    ``repetition_penalty=None`` takes the model's own default (its catalog ``options.repetition_penalty``,
    else 1.0, none): small models such as Qwen2.5 0.5B loop without one. The penalty covers the prompt's
    tokens too, as transformers applies it, unless ``penalise_prompt`` is False: an answer grounded in
    passages should be free to repeat their words, and only its own repeats are loops.
    """

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    penalise_prompt: bool = True


@dataclass(frozen=True)
class Generated:
    """A finished reply: its text (stop string excluded), why it ended and what it cost in tokens."""

    text: str
    finish_reason: Literal["stop", "length", "cancelled"]
    prompt_tokens: int
    completion_tokens: int
    # prompt tokens whose KV cells an earlier request left (not read again): how it was computed, not what it is,
    # so two generations with the same text and counts are equal whatever the cache held
    cached_prompt_tokens: int = field(default=0, compare=False)


@runtime_checkable
class LanguageModel(Protocol):
    """An instruction-tuned causal LM with a chat template, safe to call from several threads."""

    name: str  # the catalog name it was loaded from
    context_tokens: int  # prompt + reply tokens the model reads at most

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens of ``messages`` once the chat template (with the generation prompt) is applied."""

    def stream(self, messages: Sequence[Message], settings: GenerationSettings) -> Iterator[tuple[str, Generated | None]]:
        """Yield ``(piece, None)`` as text comes, then ``(last piece, Generated)``; closing it stops generation.

        Raises ``core.errors.BadInput`` when the prompt does not fit the context.
        """

    def complete(self, messages: Sequence[Message], settings: GenerationSettings) -> Generated:
        """The whole reply at once."""

    def complete_batch(
        self, conversations: Sequence[Sequence[Message]], settings: Sequence[GenerationSettings]
    ) -> list[Generated]:
        """Several replies generated together (one settings object per conversation); outputs never mix."""


class BatchCompletion:
    """What both runtimes share around their own ``complete_batch``: ``complete`` is a batch of one,
    and a batch must give one settings object per conversation."""

    def complete(self, messages: Sequence[Message], settings: GenerationSettings) -> Generated:
        return self.complete_batch([messages], [settings])[0]

    @staticmethod
    def check_batch(conversations: Sequence[Sequence[Message]], settings: Sequence[GenerationSettings]) -> None:
        from ...core.errors import BadInput

        if len(conversations) != len(settings):
            raise BadInput(f"{len(conversations)} conversations but {len(settings)} settings; give one per conversation")


def check_replies(prompt: Sequence[int], replies: Sequence[Sequence[int]], context_tokens: int) -> None:
    """What both runtimes check before ``reply_logprobs`` scores tokenised ``replies`` after ``prompt``:
    every reply has a token, and the prompt with its longest reply fits the context."""
    from ...core.errors import BadInput

    if not all(replies):
        raise BadInput("every candidate reply needs at least one token; got an empty one")
    longest = len(prompt) + max(len(ids) for ids in replies)
    if longest > context_tokens:
        raise BadInput(f"the prompt and its longest reply are {longest} tokens; the model reads at most "
                       f"{context_tokens}", hint="shorten the text")


@runtime_checkable
class ScoresText(Protocol):
    """A model that can score text (perplexity): both runtimes implement it."""

    def token_logprobs(self, text: str) -> list[float]:
        """Natural-log likelihood of each token of ``text`` given the ones before (the first is not scored)."""

    def reply_logprobs(self, messages: Sequence[Message], replies: Sequence[str]) -> list[float]:
        """Natural-log likelihood of each candidate reply to ``messages`` (summed over its tokens), the chat
        template's generation prompt applied: how likely the model is to answer exactly that (zero-shot labels)."""
