"""The numpy token sampler of the llama.cpp runtime, on made-up logits (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from modelbay.ml.llm import GenerationSettings, sampling
from modelbay.ml.llm.sampling import TokenSampler


def pick(logits, prompt=(1,), **kw) -> int:
    kw.setdefault("repetition_penalty", 1.0)
    return TokenSampler(GenerationSettings(**kw), list(prompt)).choose(np.array(logits, dtype=np.float32))


def test_greedy_picks_the_largest_logit_and_ignores_the_seed():
    assert {pick([0.1, 3.0, 2.0, -1.0], seed=s) for s in range(5)} == {1}


def test_repetition_penalty_demotes_prompt_and_reply_tokens():
    assert pick([0.0, 3.0, 2.0, -1.0], repetition_penalty=2.0) == 2  # token 1 is in the prompt
    sampler = TokenSampler(GenerationSettings(repetition_penalty=2.0), [0])
    sampler.add(2)  # generated: penalised from now on
    assert sampler.choose(np.array([0.0, 1.5, 2.0, -1.0], dtype=np.float32)) == 1


def test_without_penalise_prompt_only_the_reply_is_penalised():
    assert pick([0.0, 3.0, 2.0, -1.0], repetition_penalty=2.0, penalise_prompt=False) == 1  # prompt token free
    sampler = TokenSampler(GenerationSettings(repetition_penalty=2.0, penalise_prompt=False), [1])
    sampler.add(1)  # now it is the reply's own repeat
    assert sampler.choose(np.array([0.0, 3.0, 2.0, -1.0], dtype=np.float32)) == 2


def test_torch_decoding_follows_the_same_rule():
    import torch

    from modelbay.ml.llm.torch_decoding import GenerationRequest, Row, choose_token

    for penalise, expected in ((True, 2), (False, 1)):
        row = Row(GenerationRequest(prompt_ids=[1], repetition_penalty=2.0, penalise_prompt=penalise), None, set())
        assert choose_token(torch.tensor([0.0, 3.0, 2.0, -1.0]), row) == expected


def test_top_k_1_and_tiny_top_p_are_greedy():
    logits = [0.1, 2.0, 1.9, 1.8]
    assert {pick(logits, temperature=1.5, top_k=1, seed=s) for s in range(20)} == {1}
    assert {pick(logits, temperature=1.5, top_p=0.01, seed=s) for s in range(20)} == {1}


def test_sampling_follows_the_seed_and_varies_without_one():
    draws = lambda seed: [pick(np.zeros(50), temperature=1.0, seed=seed) for _ in range(3)]
    assert len(set(draws(11))) == 1
    assert len({pick(np.zeros(50), temperature=1.0) for _ in range(20)}) > 1


def test_top_p_keeps_the_smallest_set_reaching_the_mass():
    # probabilities 0.5, 0.3, 0.2 (tokens 0, 1, 2): top_p 0.6 keeps tokens 0 and 1 only
    logits = np.log([0.5, 0.3, 0.2])
    assert {pick(logits, prompt=(), temperature=1.0, top_p=0.6, seed=s) for s in range(60)} == {0, 1}


@pytest.mark.parametrize("top_p", [0.5, 0.999])
def test_top_p_over_a_large_vocabulary_matches_a_full_sort(monkeypatch, top_p):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=20_000).astype(np.float32)
    ids = np.arange(logits.size)
    head = sampling._nucleus(logits.astype(np.float64), ids, top_p)  # the partial sort, with its fallback
    monkeypatch.setattr(sampling, "TOP_P_CANDIDATES", logits.size)
    full = sampling._nucleus(logits.astype(np.float64), ids, top_p)
    assert np.array_equal(np.sort(head), np.sort(full)) and head.size > 1
