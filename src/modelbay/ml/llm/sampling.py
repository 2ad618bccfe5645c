"""Choosing the next token from one sequence's logits with numpy: the same rules as ``torch_decoding``.

Repetition penalty over the prompt and reply tokens (as transformers applies it), then
greedy at ``temperature == 0``, else temperature, top-k, top-p and a draw from the
sequence's own seeded generator, so one request's settings never touch another's.
"""

from __future__ import annotations

import secrets

import numpy as np

from .contract import GenerationSettings

#: top-p looks at this many best tokens first (a partial sort); the full sort is the fallback
TOP_P_CANDIDATES = 4096


class TokenSampler:
    """Per-sequence sampling state: its settings, the tokens seen so far and its random generator."""

    def __init__(self, settings: GenerationSettings, prompt_ids: list[int]) -> None:
        self.settings = settings
        self.seen = np.unique(np.asarray(prompt_ids if settings.penalise_prompt else [], dtype=np.int64))
        seed = settings.seed if settings.seed is not None else secrets.randbits(63)
        self.rng = np.random.default_rng(seed)

    def add(self, token: int) -> None:
        if self.settings.repetition_penalty != 1.0 and token not in self.seen:
            self.seen = np.union1d(self.seen, [token])

    def choose(self, logits: np.ndarray) -> int:
        """The next token from ``logits`` (1-D float32, changed in place)."""
        s = self.settings
        if s.repetition_penalty != 1.0 and self.seen.size:
            scores = logits[self.seen]
            logits[self.seen] = np.where(scores > 0, scores / s.repetition_penalty, scores * s.repetition_penalty)
        if s.temperature <= 0.0:
            return int(np.argmax(logits))
        return int(self._draw(logits.astype(np.float64) / s.temperature))

    def _draw(self, logits: np.ndarray) -> int:
        s = self.settings
        ids = np.arange(logits.size)
        if 0 < s.top_k < logits.size:
            ids = np.argpartition(-logits, s.top_k - 1)[: s.top_k]
        if s.top_p < 1.0:
            ids = _nucleus(logits, ids, s.top_p)
        chosen = logits[ids]
        probs = np.exp(chosen - chosen.max())
        return ids[self.rng.choice(ids.size, p=probs / probs.sum())]


def _nucleus(logits: np.ndarray, ids: np.ndarray, top_p: float) -> np.ndarray:
    """The best of ``ids`` whose probabilities (among ``ids``) reach ``top_p``; the first one always stays."""
    values = logits[ids]
    weights = np.exp(values - values.max())
    total = weights.sum()
    head = min(ids.size, TOP_P_CANDIDATES)
    order = np.argsort(-values) if head == ids.size else np.argpartition(-values, head - 1)[:head]
    order = order[np.argsort(-values[order], kind="stable")]
    cumulative = np.cumsum(weights[order]) / total
    if head < ids.size and cumulative[-1] < top_p:  # the head is not enough mass: sort them all
        order = np.argsort(-values, kind="stable")
        cumulative = np.cumsum(weights[order]) / total
    # drop a token when the tokens ranked above it already reach top_p
    keep = (cumulative - weights[order] / total) < top_p
    return ids[order[keep]]
