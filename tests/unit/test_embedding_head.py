"""The embedding-head trainer, its saved format, the loader's errors, and the classification evaluator.

A tiny deterministic bag-of-words "embedder" stands in for the catalog model so
these tests take well under a second and test our code, not the embedder.
"""

from __future__ import annotations

import hashlib
import itertools
import json

import numpy as np
import pytest

from modelbay.core.errors import BadInput, ModelUnavailable
from modelbay.evaluate import classification_metrics, evaluate_classification, load_labelled
from modelbay.tasks.text_classification.embedding import embed_texts
from modelbay.tasks.text_classification.head import HeadConfig, train_embedding_head
from modelbay.tasks.text_classification.model import EmbeddingHead


class _BagOfWordsEmbedder:
    """Each word maps to a fixed random unit vector; a text is the normalised sum."""

    dim = 32

    def encode(self, texts, kinds=None):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                seed = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
                out[i] += np.random.default_rng(seed).standard_normal(self.dim)
            out[i] /= np.linalg.norm(out[i]) or 1.0
        return out


@pytest.fixture
def fake_embedder(monkeypatch):
    calls = []

    def fake_load_task(task, model=None, device=None):
        calls.append((task, model))
        return _BagOfWordsEmbedder()

    monkeypatch.setattr("modelbay.core.loading.load_task", fake_load_task)
    return calls


POS = ["good", "great", "lovely", "excellent", "happy"]
NEG = ["bad", "awful", "broken", "terrible", "late"]
THINGS = ["service", "parcel", "food", "staff", "app", "room"]


def _records():
    recs = []
    for i, thing in enumerate(THINGS * 2):
        recs.append({"text": f"the {thing} was {POS[i % 5]}", "label": "pos", "source": "a" if i % 2 else "b"})
        recs.append({"text": f"the {thing} was {NEG[i % 5]}", "label": "neg", "source": "a" if i % 2 else "b"})
    return recs


def test_trainer_learns_separable_data_and_reload_gives_same_predictions(fake_embedder, tmp_path):
    out = tmp_path / "head" / "1"
    card = train_embedding_head(_records(), out, HeadConfig(embedder="fake", hidden_sizes=(16,), max_epochs=40,
                                                            patience_epochs=40, learning_rate=2e-2, seed=1))
    assert sorted(p.name for p in out.iterdir()) == ["head.json", "head.npz", "model_card.json"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "temp dir left behind"
    assert card["labels"] == ["neg", "pos"]
    assert card["data"]["n_train"] + card["data"]["n_validation"] == len(_records())
    assert json.loads((out / "model_card.json").read_text())["data"]["sha256"] == card["data"]["sha256"]

    head = EmbeddingHead(out)
    texts = ["the parcel was great", "the staff was awful", "the room was lovely", "the app was broken"]
    probs = head.predict_proba(texts)
    assert [head.labels[i] for i in probs.argmax(1)] == ["pos", "neg", "pos", "neg"]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(EmbeddingHead(out).predict_proba(texts), probs, rtol=1e-6)  # reload: same numbers


def test_trainer_is_deterministic_for_a_seed(fake_embedder, tmp_path):
    cfg = HeadConfig(embedder="fake", hidden_sizes=(8,), max_epochs=5, seed=3)
    train_embedding_head(_records(), tmp_path / "a", cfg)
    train_embedding_head(_records(), tmp_path / "b", cfg)
    a, b = np.load(tmp_path / "a" / "head.npz"), np.load(tmp_path / "b" / "head.npz")
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key])


def test_trainer_overwrites_an_existing_version_atomically(fake_embedder, tmp_path):
    out = tmp_path / "m"
    cfg = HeadConfig(embedder="fake", hidden_sizes=(), max_epochs=3)
    train_embedding_head(_records(), out, cfg)
    train_embedding_head(_records(), out, cfg)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_trainer_rejects_unusable_records(fake_embedder, tmp_path):
    with pytest.raises(BadInput, match="at least 2 labels"):
        train_embedding_head([{"text": "a", "label": "x"}] * 5, tmp_path / "m")
    with pytest.raises(BadInput, match="record 1"):
        train_embedding_head([{"text": "a", "label": "x"}, {"label": "y"}], tmp_path / "m")


def test_embed_texts_caches_and_reports_progress(fake_embedder, tmp_path):
    seen = []
    texts = ["one two", "three", "four five six"]
    first = embed_texts(texts, "fake", cache_dir=tmp_path, batch_size=2, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 3), (3, 3)]
    again = embed_texts(texts, "fake", cache_dir=tmp_path)
    np.testing.assert_array_equal(first, again)
    assert len(fake_embedder) == 1  # second call served from the cache without loading the model


def _write_head(path, config, layers):
    path.mkdir(parents=True, exist_ok=True)
    (path / "head.json").write_text(json.dumps(config))
    np.savez(path / "head.npz", **{f"{k}{i}": v for i, (w, b) in enumerate(layers) for k, v in (("W", w), ("b", b))})


GOOD = {"format": "modelbay.embedding-head/2", "embedder": "fake", "labels": ["neg", "pos"], "n_layers": 1}


@pytest.mark.parametrize("config, layers, message", [
    ({**GOOD, "format": "something/9"}, None, "format 'something/9'"),
    ({k: v for k, v in GOOD.items() if k != "labels"}, None, "lacks \\['labels'\\]"),
    ({**GOOD, "n_layers": 2}, None, "does not hold the 2 layers"),
    (GOOD, [(np.zeros((32, 3)), np.zeros(3))], "3 outputs for 2 labels"),
    ({**GOOD, "extra_features": ["astrology"]}, None, "unknown extra features"),
    ({**GOOD, "temperature": 0}, None, "temperature must be > 0"),
])
def test_bad_head_gives_a_clear_error(fake_embedder, tmp_path, config, layers, message):
    _write_head(tmp_path, config, layers or [(np.zeros((32, 2)), np.zeros(2))])
    with pytest.raises(ModelUnavailable, match=message):
        EmbeddingHead(tmp_path)


def test_missing_or_broken_head_json(tmp_path):
    with pytest.raises(ModelUnavailable, match="head.json is missing"):
        EmbeddingHead(tmp_path)
    (tmp_path / "head.json").write_text("{not json")
    with pytest.raises(ModelUnavailable, match="not valid JSON"):
        EmbeddingHead(tmp_path)


def test_version_1_heads_still_load(fake_embedder, tmp_path):
    _write_head(tmp_path, {**GOOD, "format": "modelbay.embedding-head/1"}, [(np.eye(32, 2), np.zeros(2))])
    assert EmbeddingHead(tmp_path).predict_proba(["hello"]).shape == (1, 2)


def test_classification_metrics_hand_checked():
    truth = ["neg", "neg", "neg", "pos", "pos"]
    pred = ["neg", "neg", "pos", "pos", "neg"]
    m = classification_metrics(truth, pred)
    # neg: P = 2/3, R = 2/3, F1 = 2/3 ; pos: P = 1/2, R = 1/2, F1 = 1/2
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert m["per_class"]["neg"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert m["per_class"]["pos"]["precision"] == pytest.approx(0.5)
    assert m["confusion_matrix"] == [[2, 1], [1, 1]]


def test_evaluate_classification_with_a_loaded_task(fake_embedder, tmp_path):
    class Out:
        def __init__(self, label):
            self.label = label

    class FakeTask:
        name = "sentiment"

        def coerce(self, text):
            return text

        def __call__(self, items):
            return [Out("pos" if "good" in t else "neg") for t in items]

    records = [{"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"}, {"text": "not good", "label": "neg"}]
    m = evaluate_classification(FakeTask(), records)
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["errors"] == [{"text": "not good", "label": "neg", "predicted": "pos"}]


def test_load_labelled_jsonl_and_csv(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "a", "label": "x"}\n\n{"text": "b", "label": "y", "id": 7}\n')
    assert load_labelled(tmp_path / "d.jsonl") == [{"text": "a", "label": "x"}, {"id": 7, "text": "b", "label": "y"}]
    (tmp_path / "d.csv").write_text("review,stars\nnice,pos\n")
    assert load_labelled(tmp_path / "d.csv", text_field="review", label_field="stars") == [{"text": "nice", "label": "pos"}]
    (tmp_path / "bad.jsonl").write_text('{"text": "a"}\n')
    with pytest.raises(BadInput, match="bad.jsonl:1: missing field 'label'"):
        load_labelled(tmp_path / "bad.jsonl")
    with pytest.raises(BadInput, match="no such data file"):
        load_labelled(tmp_path / "nope.jsonl")


@pytest.mark.parametrize("sizes", [[5, 2], [5, 4, 2], [5, 4, 3, 2]])
def test_merged_ensemble_logits_are_the_mean_of_the_members(sizes):
    from modelbay.ml.mlp import forward, merge_ensemble

    rng = np.random.default_rng(0)
    members = [[(rng.standard_normal((a, b)).astype(np.float32), rng.standard_normal(b).astype(np.float32))
                for a, b in itertools.pairwise(sizes)] for _ in range(3)]
    x = rng.standard_normal((7, sizes[0])).astype(np.float32)
    expected = np.mean([forward(m, x) for m in members], axis=0)
    np.testing.assert_allclose(forward(merge_ensemble(members), x), expected, rtol=1e-4, atol=1e-5)


def test_trainer_ensemble_writes_one_wider_mlp(fake_embedder, tmp_path):
    card = train_embedding_head(_records(), tmp_path / "e", HeadConfig(embedder="fake", hidden_sizes=(4,), n_ensemble=3,
                                                                       max_epochs=3))
    weights = np.load(tmp_path / "e" / "head.npz")
    assert weights["W0"].shape == (32, 12) and weights["W1"].shape == (12, 2)
    assert len(card["training"]["members"]) == 3
