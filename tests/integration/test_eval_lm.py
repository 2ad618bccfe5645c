"""`modelbay eval chat`: the language model is scored by perplexity on held-out text."""

import json
import random

import pytest

pytestmark = pytest.mark.slow

TEXTS = [
    "My card was charged twice for the same order and I would like a refund.",
    "The parcel arrived two days late and the box was crushed.",
    "Thanks, the support agent fixed my login problem quickly.",
    "How do I change the delivery address for my next order?",
    "The app keeps crashing when I open my invoices on my phone.",
]


def _write(path, texts):
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return path


def test_perplexity_is_lower_on_real_sentences_than_on_shuffled_words(tmp_path):
    from modelbay.evaluate import evaluate

    rng = random.Random(0)
    shuffled = []
    for t in TEXTS:
        words = t.split()
        rng.shuffle(words)
        shuffled.append(" ".join(words))
    real = evaluate("chat", _write(tmp_path / "real.jsonl", TEXTS), n_bootstrap=50)
    noise = evaluate("chat", _write(tmp_path / "noise.jsonl", shuffled), n_bootstrap=50)
    assert real["family"] == "language-model" and real["headline"] == "perplexity"
    assert 1 < real["value"] < noise["value"]
    assert real["metrics"]["tokens"] > 5 * len(TEXTS)


def test_a_table_without_text_is_a_clear_error(tmp_path):
    from modelbay.core.errors import BadInput
    from modelbay.evaluate import evaluate

    path = tmp_path / "bad.jsonl"
    path.write_text('{"body": "hello there"}\n', encoding="utf-8")
    with pytest.raises(BadInput, match=r"bad.jsonl:1: no text in column 'text'"):
        evaluate("chat", path)
