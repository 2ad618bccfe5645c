"""Which sentences of the retrieved passages the assistant names to the LLM (``kb.sentences``), without an
embedder: the query's BM25 terms decide (jieba words for Chinese, stemmed English words)."""

from __future__ import annotations

from modelbay.kb.sentences import key_sentences


def test_the_sentence_holding_the_asked_detail_comes_first_whatever_passage_it_is_in():
    passages = ["We ship every order within two days. Express delivery costs 9 euros.",
                "Refunds are paid to your card within five business days. Sale items are not refunded."]
    found = key_sentences("When are refunds paid?", passages, 2, None)
    assert (found[0].passage, found[0].text) == (1, "Refunds are paid to your card within five business days.")
    assert len(found) == 2 and found[0].score > found[1].score


def test_chinese_sentences_are_split_at_full_width_marks_and_matched_by_jieba_words():
    found = key_sentences("发票怎么开？", ["我们每天发货。电子发票在个人中心申请。退款三天到账！"], 1, None)
    assert [s.text for s in found] == ["电子发票在个人中心申请。"]


def test_ties_keep_passage_order_and_headings_or_fragments_are_not_candidates():
    passages = ["# Returns", "Yes.", "Opening hours are 9 to 5.", "The shop is in Berlin."]
    assert [s.passage for s in key_sentences("parking", passages, 5, None)] == [2, 3]


def test_none_asked_or_nothing_to_choose_from_gives_none():
    assert key_sentences("refunds", ["Refunds take 5 days."], 0, None) == []
    assert key_sentences("refunds", [], 2, None) == []
