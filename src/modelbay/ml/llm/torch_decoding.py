"""Token-by-token decoding for causal LMs: batched, per-row sampling, stop strings, streaming.

A hand-written loop rather than ``model.generate`` because each row of a batch
carries its own sampling parameters, seed and stop strings, and because a plain
generator streams without a background thread: a consumer that stops iterating
simply stops the decoding (nothing is left running).

Rows are left-padded for the prefill; a finished row is dropped from the batch
(and from the KV cache), so a short answer does not pay for a long one.

Inside the server a row whose request is gone (timed out, client disconnected) is
dropped the same way, between two steps (``modelbay.core.cancel``); when no row is
wanted any more the loop ends. A long prompt is read in chunks of about
``PREFILL_CHUNK_TOKENS`` tokens (all rows together), so that check also comes
during the prompt's pass, not only after it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from ...core.cancel import all_cancelled, row_cancelled
from .stops import cut_at_stop, settled_text

#: tokens (rows x positions) per model call while reading the prompts: the prompt's pass is cut into calls
#: of this size so a cancel is seen within one call (~2 s for SmolLM2-135M on one busy core), while a
#: usual prompt still takes one call
PREFILL_CHUNK_TOKENS = 512


@dataclass
class GenerationRequest:
    """One sequence to generate. ``temperature == 0`` means greedy (``top_p``/``top_k``/``seed`` unused)."""

    prompt_ids: list[int]
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    penalise_prompt: bool = True


class Row:
    """Decoding state of one request: its tokens, its text so far and why it ended."""

    def __init__(self, request: GenerationRequest, tokenizer, eos_ids: set[int]) -> None:
        import torch

        self.request = request
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids
        self.tokens: list[int] = []  # generated, without the end-of-sequence token
        self.completion_tokens = 0  # generated, with it
        self.text = ""
        self.finish_reason: str | None = None  # "stop", "length", or "cancelled" (nobody waits for it)
        # for the repetition penalty: the prompt's tokens too, as transformers does, unless told otherwise
        self.seen = set(request.prompt_ids) if request.penalise_prompt else set()
        self.generator = torch.Generator().manual_seed(
            request.seed if request.seed is not None else secrets.randbits(63)
        )

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    def push(self, token: int) -> None:
        self.completion_tokens += 1
        if token in self.eos_ids:
            self.finish_reason = "stop"
            return
        self.tokens.append(token)
        self.seen.add(token)
        text = self.tokenizer.decode(self.tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        self.text, stopped = cut_at_stop(text, self.request.stop)
        if stopped:
            self.finish_reason = "stop"
        elif self.completion_tokens >= self.request.max_new_tokens:
            self.finish_reason = "length"

    def settled_text(self) -> str:
        """The text that can no longer change: without a trailing partial character or stop-string prefix."""
        return self.text if self.done else settled_text(self.text, self.request.stop)


def choose_token(logits, row: Row) -> int:
    """Pick the next token from one row's logits (1-D float tensor) with that row's parameters."""
    import torch

    req = row.request
    if req.repetition_penalty != 1.0 and row.seen:
        seen = torch.tensor(sorted(row.seen), dtype=torch.long)
        scores = logits[seen]
        logits[seen] = torch.where(scores > 0, scores / req.repetition_penalty, scores * req.repetition_penalty)
    if req.temperature <= 0.0:
        return int(torch.argmax(logits))
    logits = logits / req.temperature
    if 0 < req.top_k < logits.numel():
        kth = torch.topk(logits, req.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if req.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        # drop a token when the tokens ranked above it already reach top_p (the first one always stays)
        drop = (torch.cumsum(probs, dim=-1) - probs) >= req.top_p
        logits = logits.index_fill(0, order[drop], float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs, 1, generator=row.generator))


def decode(model, tokenizer, requests: list[GenerationRequest], eos_ids: set[int], pad_id: int) -> Iterator[list[Row]]:
    """Generate for all requests at once; yield the rows after every step (the last yield has all rows done).

    Row ``i`` stops with ``finish_reason == "cancelled"`` once the running cancel scope says row ``i`` is
    no longer wanted (never outside the server).

    >>> rows = list(decode(model, tok, [GenerationRequest(ids, max_new_tokens=8)], {2}, 2))[-1]  # doctest: +SKIP
    >>> rows[0].text, rows[0].finish_reason                                                       # doctest: +SKIP
    """
    import torch

    rows = [Row(r, tokenizer, eos_ids) for r in requests]
    device = model.device
    with torch.inference_mode():
        width = max(len(r.prompt_ids) for r in requests)
        pads = [width - len(r.prompt_ids) for r in requests]
        input_ids = torch.tensor([[pad_id] * n + r.prompt_ids for n, r in zip(pads, requests)], device=device)
        mask = torch.tensor([[0] * n + [1] * (width - n) for n in pads], device=device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = None
        active = list(range(len(rows)))
    # inference mode is entered per step, never held across a yield: the consumer's code runs between steps
    while active:
        with torch.inference_mode():
            if cache is None:
                logits, cache = _prefill(model, input_ids, mask, positions)
            else:
                out = model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                            past_key_values=cache, use_cache=True, logits_to_keep=1)
                logits, cache = out.logits[:, -1, :], out.past_key_values
            keep = _advance(rows, active, logits)
            if keep and len(keep) < len(active):
                index = torch.tensor(keep, device=device)
                cache.batch_select_indices(index)
                mask, positions = mask[index], positions[index]
            next_tokens = [rows[active[j]].tokens[-1] for j in keep]
            active = [active[j] for j in keep]
            if active:
                input_ids = torch.tensor(next_tokens, device=device).unsqueeze(-1)
                mask = torch.cat([mask, mask.new_ones(len(active), 1)], dim=-1)
                positions = positions[:, -1:] + 1
        yield rows


def _advance(rows: list[Row], active: list[int], logits) -> list[int]:
    """Push one token to every active row (``logits``: one line per active row, ``None`` when all were
    cancelled before the step); returns the positions in ``active`` of the rows that go on."""
    if logits is None:
        for i in active:
            rows[i].finish_reason = "cancelled"
        return []
    logits = logits.float().cpu()  # sampling runs on the CPU, with each row's generator
    for j, i in enumerate(active):
        if row_cancelled(i):  # its request is gone: drop the row, as a finished one
            rows[i].finish_reason = "cancelled"
        else:
            rows[i].push(choose_token(logits[j].clone(), rows[i]))
    return [j for j, i in enumerate(active) if not rows[i].done]


def _prefill(model, input_ids, mask, positions):
    """Read the (left-padded) prompts into a new KV cache, ``PREFILL_CHUNK_TOKENS`` tokens per call.

    Returns the last position's logits and the cache, or ``(None, None)`` when every row was cancelled
    before a call (a prompt of thousands of tokens is seconds of work: checked between calls).
    """
    count, width = input_ids.shape
    step = max(1, PREFILL_CHUNK_TOKENS // count)
    cache = out = None
    for start in range(0, width, step):
        if all_cancelled():
            return None, None
        end = min(width, start + step)
        out = model(input_ids=input_ids[:, start:end], attention_mask=mask[:, :end],
                    position_ids=positions[:, start:end], past_key_values=cache, use_cache=True, logits_to_keep=1)
        cache = out.past_key_values
    return out.logits[:, -1, :], cache
