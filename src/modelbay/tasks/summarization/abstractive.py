"""Abstractive summaries through the shared LLM; a text too long for its context is shortened first.

A document longer than the model's context keeps its best-ranked sentences (TextRank), in
order, until the prompt fits: the model then rewrites what the extractive step judged central,
instead of the request failing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...core.errors import BadInput
from ...ml.sentences import join_sentences
from .prompts import summary_messages

#: tokens kept free besides the reply (chat-template markup differs slightly between count and generation)
MARGIN_TOKENS = 16


def fitted_messages(lm, sentences: Sequence[str], language: str, length: str, max_new_tokens: int,
                    rank_order: Callable[[], list[int]]) -> tuple[list[dict[str, str]], int]:
    """The summary request for ``sentences``, shortened to fit ``lm``'s context; and how many sentences it kept.

    ``rank_order`` is called only when the text does not fit: sentence indices, best first.
    """
    budget = lm.context_tokens - max_new_tokens - MARGIN_TOKENS
    messages = summary_messages(join_sentences(list(sentences), language), language, length)
    tokens = lm.count_tokens(messages)
    if tokens <= budget:
        return messages, len(sentences)
    overhead = lm.count_tokens(summary_messages("", language, length))
    if budget - overhead < 32:
        raise BadInput(f"max_new_tokens={max_new_tokens} leaves no room for the text in the model's "
                       f"{lm.context_tokens}-token context", hint="lower max_new_tokens")
    order = rank_order()
    chars = [len(s) for s in sentences]
    share = (budget - overhead) / max(tokens - overhead, 1)  # the fraction of the text that fits, by tokens
    for _ in range(6):  # tokens per character vary by sentence: shrink until the real count fits
        keep, used = [], 0
        for i in order:
            if used + chars[i] <= share * sum(chars) or not keep:
                keep.append(i)
                used += chars[i]
        messages = summary_messages(join_sentences([sentences[i] for i in sorted(keep)], language), language, length)
        if lm.count_tokens(messages) <= budget:
            return messages, len(keep)
        share *= 0.8
    raise BadInput("the text's sentences are too long to fit the model's context even one at a time",
                   hint="use method 'extractive', or split the text")


__all__ = ["MARGIN_TOKENS", "fitted_messages"]
