"""Token-by-token decoding for causal LMs: batched, per-row sampling, stop strings, streaming.

A hand-written loop rather than ``model.generate`` because each row of a batch
carries its own sampling parameters, seed and stop strings, and because a plain
generator streams without a background thread: a consumer that stops iterating
simply stops the decoding (nothing is left running).

Rows are left-padded for the prefill; a finished row is dropped from the batch
(and from the KV cache), so a short answer does not pay for a long one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field


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
        self.finish_reason: str | None = None
        self.seen = set(request.prompt_ids)  # for the repetition penalty, as transformers does
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
        self.text = self.tokenizer.decode(self.tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        cut = min((i for i in (self.text.find(s) for s in self.request.stop) if i >= 0), default=-1)
        if cut >= 0:
            self.text = self.text[:cut]
            self.finish_reason = "stop"
        elif self.completion_tokens >= self.request.max_new_tokens:
            self.finish_reason = "length"

    def settled_text(self) -> str:
        """The text that can no longer change: without a trailing partial character or stop-string prefix."""
        if self.done:
            return self.text
        text = self.text.rstrip("\ufffd")  # bytes of a character still being generated
        held = 0
        for stop in self.request.stop:
            for k in range(min(len(stop) - 1, len(text)), held, -1):
                if text.endswith(stop[:k]):
                    held = k
                    break
        return text[: len(text) - held]


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

    >>> rows = list(decode(model, tok, [GenerationRequest(ids, max_new_tokens=8)], {2}, 2))[-1]  # doctest: +SKIP
    >>> rows[0].text, rows[0].finish_reason                                                       # doctest: +SKIP
    """
    import torch

    rows = [Row(r, tokenizer, eos_ids) for r in requests]
    width = max(len(r.prompt_ids) for r in requests)
    device = model.device
    with torch.inference_mode():
        pads = [width - len(r.prompt_ids) for r in requests]
        input_ids = torch.tensor([[pad_id] * n + r.prompt_ids for n, r in zip(pads, requests)], device=device)
        mask = torch.tensor([[0] * n + [1] * (width - n) for n in pads], device=device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = None
        active = list(range(len(rows)))
    # inference mode is entered per step, never held across a yield: the consumer's code runs between steps
    while active:
        with torch.inference_mode():
            out = model(
                input_ids=input_ids, attention_mask=mask, position_ids=positions,
                past_key_values=cache, use_cache=True, logits_to_keep=1,
            )
            cache = out.past_key_values
            logits = out.logits[:, -1, :].float().cpu()  # sampling runs on the CPU, with each row's generator
            for j, i in enumerate(active):
                rows[i].push(choose_token(logits[j].clone(), rows[i]))
            keep = [j for j, i in enumerate(active) if not rows[i].done]
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
