"""A knowledge base with the real multilingual-e5-small dense index: hybrid search, raw scores, confidence."""

from __future__ import annotations

import pytest

from modelbay.kb import KnowledgeBase

pytestmark = pytest.mark.slow


@pytest.fixture
def kb(fresh_settings, tmp_path):
    faq = tmp_path / "faq.csv"
    faq.write_text(
        "question,answer\n"
        "如何申请退款？,在订单详情页点击申请退款，三个工作日内原路返回。\n"
        "How do I change my delivery address?,Open the order and choose Edit address before it ships.\n"
        "发票怎么开？,在个人中心的发票管理里申请电子发票。\n"
        "Can I pay with a credit card?,We accept Visa and Mastercard.\n", encoding="utf-8")
    kb = KnowledgeBase.create("e5", chunk_max_chars=300, chunk_overlap_chars=50)
    kb.add([faq])
    yield kb
    kb.close()


def test_dense_finds_a_paraphrase_that_shares_no_word_with_the_faq(kb):
    query = "钱什么时候能退回来"  # shares no BM25 term with 如何申请退款
    dense = kb.search(query, k=2, mode="dense")
    assert dense.hits[0].text.startswith("如何申请退款")
    assert dense.hits[0].score == pytest.approx(dense.hits[0].dense_score)
    hybrid = kb.search("where will my parcel be sent, can I update it", k=2)
    assert hybrid.hits[0].text.startswith("How do I change my delivery address")
    assert all(h.dense_score is not None for h in hybrid.hits)


def test_hybrid_reports_rrf_scores_and_both_raw_scores(kb):
    result = kb.search("credit card payment", k=4)
    top = result.hits[0]
    assert top.text.startswith("Can I pay with a credit card")
    assert top.bm25_score > 0 and 0 < top.dense_score <= 1
    assert top.score == pytest.approx(2 / 61, rel=1e-4)  # first in both rankings: 1/(60+1) twice
    assert result.confidence == pytest.approx(max(h.dense_score for h in result.hits))


def test_confidence_is_higher_for_an_answerable_question_than_for_an_unrelated_one(kb):
    answerable = kb.search("我想开发票", k=1)
    unrelated = kb.search("量子色动力学中的渐近自由是什么", k=1)
    assert answerable.confidence > unrelated.confidence
    assert answerable.confident and not unrelated.confident


def test_key_sentences_find_a_paraphrase_by_meaning_when_no_word_is_shared(kb):
    passages = ["我们每天发货，周末也发。退款会在三个工作日内原路返回。", "Express delivery costs 9 euros."]
    found = kb.key_sentences("钱什么时候能退回来", passages, n=2)  # no BM25 term in common with either sentence
    assert (found[0].passage, found[0].text) == (0, "退款会在三个工作日内原路返回。")
    assert found[0].score > found[1].score > 0
