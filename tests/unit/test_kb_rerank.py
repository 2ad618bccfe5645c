"""The optional rerank step of knowledge-base search, on a tiny cross-encoder and a tiny embedder built here.

No reranker's weights ship offline, so the tests build a seeded 2-layer BERT cross-encoder (one output)
and a 1-layer BERT embedder, save them with a WordPiece vocabulary, and register both as catalog
models with ``local:`` sources. The expected reranked order is computed by sentence-transformers'
own ``CrossEncoder`` on the saved directory, not by modelbay's code.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

WORDS = ["refund", "refunds", "money", "back", "card", "days", "business", "order", "orders", "ship", "shipping",
         "norway", "customs", "fees", "address", "change", "delivery", "return", "returns", "policy", "within", "the",
         "to", "your", "we", "do", "how", "long", "take", "can", "i", "get", "my", "is", "are", "in", "of", "a", "q",
         "a", ":", "?", ".", ",", "free", "label", "store", "credit", "open", "hours"]
FAQ = [
    ("How long do refunds take?", "Refunds reach your card within 5 business days."),
    ("Can I get my money back?", "Yes, a refund to your card or store credit within 30 days."),
    ("Do you ship to Norway?", "We ship to Norway; customs fees are included."),
    ("How can I change my address?", "Change the delivery address of your order before it ships."),
    ("What is the return policy?", "Returns are free within 30 days with the return label."),
    ("Is shipping free?", "Shipping is free for orders over 50."),
    ("Refund for a return?", "The refund of a return is money back to your card in 5 days."),
    ("What are the store hours?", "The store is open 9 to 18."),
]
QUERY = "how long to get my money back refund"
RERANKER = "tiny-reranker"


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """(cross-encoder dir, embedder dir), built once for the module (the process shares loaded models by name)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    root = tmp_path_factory.mktemp("tiny-models")
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(WORDS)]))
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=1,
                        initializer_range=0.5)  # BERT's 0.02 gives every pair ~0.5014, apart by float noise only
    torch.manual_seed(7)
    reranker_dir, embedder_dir = root / "reranker", root / "embedder"
    BertForSequenceClassification(config).save_pretrained(reranker_dir)
    tokenizer.save_pretrained(reranker_dir)
    torch.manual_seed(11)
    BertModel(config).save_pretrained(embedder_dir)
    tokenizer.save_pretrained(embedder_dir)
    return reranker_dir, embedder_dir


def _register(home, name: str, task: str, path, **options) -> None:
    spec = {"name": name, "task": task, "languages": ["en"], "sources": [f"local:{path}"], "license": "MIT",
            "origin": "built by the test", "size_mb": 0.1, "install": "built by the test", "options": options}
    (home / "catalog").mkdir(parents=True, exist_ok=True)
    (home / "catalog" / f"{name}.yaml").write_text(json.dumps(spec))  # JSON is valid YAML


@pytest.fixture
def support(fresh_settings, tiny_models, tmp_path):
    """A hybrid (BM25 + tiny dense) knowledge base ``support`` holding the FAQ, and the cross-encoder's directory."""
    import csv

    from modelbay.kb import KnowledgeBase
    from modelbay.kb.shared import forget

    reranker_dir, embedder_dir = tiny_models
    home = fresh_settings().home
    _register(home, RERANKER, "rerank", reranker_dir)
    _register(home, "tiny-embedder", "embeddings", embedder_dir, backend="sentence-transformers")
    faq = tmp_path / "faq.csv"
    with faq.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("question", "answer"), *FAQ])
    forget("support")
    kb = KnowledgeBase.create("support", embedding_model="tiny-embedder")
    assert kb.add([faq]).chunks_added == len(FAQ)
    yield kb, reranker_dir
    kb.close()
    forget("support")


def _direct_scores(reranker_dir, query: str, texts: list[str]) -> np.ndarray:
    from sentence_transformers import CrossEncoder

    return np.asarray(CrossEncoder(str(reranker_dir), device="cpu").predict([(query, t) for t in texts]))


def test_reranked_order_and_scores_are_the_cross_encoders(support):
    kb, reranker_dir = support
    candidates = kb.search(QUERY, k=8)  # hybrid, no rerank: every chunk of the knowledge base
    assert len(candidates.hits) == len(FAQ) and candidates.mode == "hybrid"
    assert all(h.dense_score is not None for h in candidates.hits)  # a real hybrid search, not BM25 alone
    scores = _direct_scores(reranker_dir, QUERY, [h.text for h in candidates.hits])
    assert np.diff(np.sort(scores)).min() > 1e-5  # distinct scores: the order cannot hinge on float noise
    expected = [candidates.hits[i].id for i in np.argsort(-scores, kind="stable")]

    reranked = kb.search(QUERY, k=8, rerank=RERANKER)
    assert [h.id for h in reranked.hits] == expected
    assert expected != [h.id for h in candidates.hits]  # the tiny model disagrees with RRF: the test sees a rerank
    by_id = {h.id: float(s) for h, s in zip(candidates.hits, scores, strict=True)}
    assert [h.rerank_score for h in reranked.hits] == pytest.approx([by_id[i] for i in expected], abs=1e-6)
    before = {h.id: (h.score, h.dense_score, h.bm25_score) for h in candidates.hits}
    assert all((h.score, h.dense_score, h.bm25_score) == before[h.id] for h in reranked.hits)  # other scores stay


def test_without_rerank_the_hybrid_result_is_unchanged(support):
    kb, _ = support
    plain = kb.search(QUERY, k=3)
    assert plain == kb.search(QUERY, k=3, rerank=None, rerank_candidates=50)  # candidates only matter with rerank
    assert all(h.rerank_score is None for h in plain.hits)
    scores = [h.score for h in plain.hits]
    assert scores == sorted(scores, reverse=True)  # RRF order
    assert [h.id for h in plain.hits] == [h.id for h in kb.search(QUERY, k=8).hits][:3]


def test_k_below_the_candidates_takes_the_best_k_and_more_candidates_than_hits_is_fine(support):
    kb, reranker_dir = support
    top = kb.search(QUERY, k=2, rerank=RERANKER, rerank_candidates=5)
    five = kb.search(QUERY, k=5).hits  # what the reranker was given
    scores = _direct_scores(reranker_dir, QUERY, [h.text for h in five])
    assert [h.id for h in top.hits] == [five[i].id for i in np.argsort(-scores, kind="stable")[:2]]
    everything = kb.search(QUERY, k=3, rerank=RERANKER, rerank_candidates=100)  # more than the 8 chunks there are
    assert len(everything.hits) == 3
    all_hits = kb.search(QUERY, k=8).hits
    all_scores = _direct_scores(reranker_dir, QUERY, [h.text for h in all_hits])
    assert [h.id for h in everything.hits] == [all_hits[i].id for i in np.argsort(-all_scores, kind="stable")[:3]]


def test_an_unknown_or_non_reranker_model_is_a_clear_client_error(support):
    from modelbay.core.errors import BadInput, ModelNotFound

    kb, _ = support
    with pytest.raises(ModelNotFound, match="no-such-reranker") as unknown:
        kb.search(QUERY, rerank="no-such-reranker")
    assert unknown.value.status_code == 404 and RERANKER in unknown.value.message  # lists the known models
    with pytest.raises(BadInput, match="'tiny-embedder' is a 'embeddings' model, not a reranker") as wrong:
        kb.search(QUERY, rerank="tiny-embedder")
    assert wrong.value.status_code == 422 and "rerank" in wrong.value.hint
    with pytest.raises(BadInput, match="rerank_candidates"):
        kb.search(QUERY, rerank=RERANKER, rerank_candidates=0)


def test_http_search_reranks_and_answers_a_bad_reranker_with_a_4xx(support):
    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    kb, _ = support
    expected = kb.search(QUERY, k=4, rerank=RERANKER)
    with TestClient(create_app()) as client:
        r = client.post("/v1/kb/support/search", json={"query": QUERY, "k": 4, "rerank": RERANKER})
        assert r.status_code == 200, r.text
        assert [h["id"] for h in r.json()["hits"]] == [h.id for h in expected.hits]
        assert all(h["rerank_score"] is not None for h in r.json()["hits"])
        r = client.post("/v1/kb/support/search", json={"query": QUERY, "rerank": "no-such-reranker"})
        assert r.status_code == 404 and "no-such-reranker" in r.json()["error"]["message"], r.text
        r = client.post("/v1/kb/support/search", json={"query": QUERY, "rerank": "tiny-embedder"})
        assert r.status_code == 422 and "not a reranker" in r.json()["error"]["message"], r.text


def test_cli_search_takes_rerank(support):
    from typer.testing import CliRunner

    from modelbay.cli import app

    kb, _ = support
    expected = [h.id for h in kb.search(QUERY, k=3, rerank=RERANKER).hits]
    result = CliRunner().invoke(app, ["kb", "search", "support", QUERY, "-k", "3", "--rerank", RERANKER, "--json"])
    assert result.exit_code == 0, result.output
    assert [h["id"] for h in json.loads(result.output)["hits"]] == expected


def test_the_assistant_cites_sources_in_the_reranked_order(support):
    from modelbay.core.loading import load_task

    kb, _ = support
    assistant = load_task("assistant")
    question = {"kb": "support", "question": QUERY, "generate": False, "top_k": 3, "min_confidence": 0.0}
    reranked = [(h.source, h.position) for h in kb.search(QUERY, k=3, rerank=RERANKER).hits]
    plain = [(h.source, h.position) for h in kb.search(QUERY, k=3).hits]
    assert reranked != plain  # otherwise the order below would not show that rerank reached the search
    out = assistant([assistant.coerce({**question, "rerank": RERANKER})])[0]
    assert [(s.path, s.chunk) for s in out.sources] == reranked
    out = assistant([assistant.coerce(question)])[0]
    assert [(s.path, s.chunk) for s in out.sources] == plain
