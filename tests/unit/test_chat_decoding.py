"""The chat decoding helpers on fake tokenizers and logits (no model)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from modelbay.ml.llm.torch_decoding import GenerationRequest, Row, choose_token


class LetterTokenizer:
    """Token i decodes to the i-th string of a fixed vocabulary."""

    def __init__(self, vocab: list[str]) -> None:
        self.vocab = vocab

    def decode(self, ids, **kwargs) -> str:
        return "".join(self.vocab[i] for i in ids)


VOCAB = ["<eos>", "a", "b", "E", "N", "D", " ", "\ufffd"]
EOS = {0}


def row(**kw) -> Row:
    return Row(GenerationRequest(prompt_ids=[1], **kw), LetterTokenizer(VOCAB), EOS)


def push_all(r: Row, tokens: list[int]) -> Row:
    for t in tokens:
        r.push(t)
    return r


def test_end_of_sequence_stops_and_is_counted_but_not_shown():
    r = push_all(row(max_new_tokens=10), [1, 2, 0])
    assert (r.text, r.finish_reason, r.completion_tokens) == ("ab", "stop", 3)


def test_max_new_tokens_ends_with_length():
    r = push_all(row(max_new_tokens=2), [1, 2])
    assert (r.text, r.finish_reason) == ("ab", "length")


def test_stop_string_across_tokens_cuts_the_text():
    r = push_all(row(max_new_tokens=10, stop=["END", "zz"]), [1, 3, 4])
    assert not r.done and r.settled_text() == "a"  # "EN" might be the start of "END": held back
    r.push(5)
    assert (r.text, r.finish_reason, r.settled_text()) == ("a", "stop", "a")


def test_a_false_stop_prefix_is_released():
    r = push_all(row(max_new_tokens=10, stop=["END"]), [1, 3])
    assert r.settled_text() == "a"
    r.push(2)
    assert r.settled_text() == "aEb"


def test_partial_characters_are_held_back_until_complete():
    r = push_all(row(max_new_tokens=10), [1, 7])
    assert r.settled_text() == "a"


def test_greedy_picks_the_largest_logit_and_ignores_the_seed():
    logits = torch.tensor([0.1, 3.0, 2.0, -1.0])
    assert {choose_token(logits.clone(), row(seed=s)) for s in range(5)} == {1}


def test_repetition_penalty_demotes_seen_tokens():
    logits = torch.tensor([0.0, 3.0, 2.0, -1.0])  # token 1 is in the prompt
    assert choose_token(logits.clone(), row(repetition_penalty=2.0)) == 2


def test_top_k_1_and_tiny_top_p_are_greedy():
    logits = torch.tensor([0.1, 2.0, 1.9, 1.8])
    assert {choose_token(logits.clone(), row(temperature=1.5, top_k=1, seed=s)) for s in range(20)} == {1}
    assert {choose_token(logits.clone(), row(temperature=1.5, top_p=0.01, seed=s)) for s in range(20)} == {1}


def test_sampling_follows_the_seed_and_varies_without_one():
    logits = torch.zeros(50)
    picks = [choose_token(logits.clone(), row(temperature=1.0, seed=11)) for _ in range(3)]
    assert len(set(picks)) == 1
    assert len({choose_token(logits.clone(), row(temperature=1.0)) for _ in range(20)}) > 1
