"""Chunking: sentence ends in English and Chinese, the size bound in characters, overlap, sections and FAQ pairs."""

from __future__ import annotations

import itertools

import pytest

from modelbay.kb.chunking import Block, chunk_blocks
from modelbay.kb.lexical import bm25_tokens
from modelbay.ml.sentences import split_sentences


def test_chinese_sentences_end_at_full_width_marks_and_keep_closing_quotes():
    text = "客服说：“可以退货。”请在七天内申请！需要发票吗？需要；请附上订单号…谢谢"
    assert split_sentences(text) == ["客服说：“可以退货。”", "请在七天内申请！", "需要发票吗？", "需要；",
                                     "请附上订单号…", "谢谢"]


def test_english_sentences_do_not_end_inside_numbers_or_without_a_space():
    assert split_sentences('Version 2.5 is out. He said "ok." Then left! Really?') == [
        "Version 2.5 is out.", 'He said "ok."', "Then left!", "Really?"]


def test_mixed_text_splits_by_each_languages_rules_and_abbreviations_end_no_sentence():
    text = "Dr. Wang runs the U.S. office. 他说：“可以退货。”请看 iPhone 15. 价格是 5.5 元。"
    assert split_sentences(text) == ["Dr. Wang runs the U.S. office.", "他说：“可以退货。”", "请看 iPhone 15.",
                                     "价格是 5.5 元。"]


def test_a_long_paragraph_is_never_cut_after_an_abbreviation():
    sentence = "Mr. Smith of the U.S. branch approved refund no. 12 on Jan. 5th."
    chunks = chunk_blocks([Block(" ".join([sentence] * 8))], max_chars=150, overlap_chars=70)
    assert len(chunks) > 3
    assert all(c.text.startswith("Mr. Smith") and c.text.endswith("5th.") for c in chunks)


def test_chunks_respect_the_size_bound_in_characters_for_chinese():
    sentence = "本店所有商品支持七天无理由退货。"  # 16 characters, no spaces
    chunks = chunk_blocks([Block(sentence * 20, ("售后",))], max_chars=60, overlap_chars=20)
    assert len(chunks) > 5
    assert all(len(c.text) <= 60 for c in chunks)
    assert all(c.section == "售后" for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(c.text.endswith("。") for c in chunks)  # cut at sentence ends, not mid-sentence


def test_neighbouring_chunks_overlap_by_whole_sentences():
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(12)]
    chunks = chunk_blocks([Block(" ".join(sentences))], max_chars=120, overlap_chars=50)
    assert len(chunks) >= 3
    for before, after in itertools.pairwise(chunks):
        last = split_sentences(before.text)[-1]
        assert after.text.startswith(last)  # the next chunk opens with the previous one's last sentence
    covered = " ".join(c.text for c in chunks)
    assert all(s in covered for s in sentences)


def test_no_overlap_when_asked_for_none():
    chunks = chunk_blocks([Block("一二三四五六七八九十。" * 6)], max_chars=30, overlap_chars=0)
    assert "".join(c.text for c in chunks) == "一二三四五六七八九十。" * 6


def test_a_sentence_longer_than_a_chunk_is_cut_to_fit():
    long_run = "没有标点的很长一句话" * 30
    chunks = chunk_blocks([Block(long_run)], max_chars=50, overlap_chars=10)
    assert all(len(c.text) <= 50 for c in chunks)
    assert len(chunks) >= 6


def test_sections_and_pages_are_never_mixed_and_paragraphs_are_packed():
    blocks = [Block("Returns are free.", ("Help", "Returns")), Block("Use the form.", ("Help", "Returns")),
              Block("We ship fast.", ("Help", "Shipping")), Block("Page two text.", page=2)]
    chunks = chunk_blocks(blocks, max_chars=200, overlap_chars=20)
    assert [(c.section, c.page, c.text) for c in chunks] == [
        ("Help > Returns", None, "Returns are free.\nUse the form."),
        ("Help > Shipping", None, "We ship fast."),
        (None, 2, "Page two text.")]


def test_paragraphs_packed_together_keep_their_line_breaks_and_a_split_paragraph_runs_on():
    """A title line and its paragraph stay apart ("退货政策商品签收后…" read as one run-on sentence before)."""
    blocks = [Block("退货政策"), Block("商品签收后七天内可以退货。运费由买家承担。"), Block("Shipping"),
              Block("We ship in 2 days. Express takes 1 day. Orders to Alaska take 10 days.")]
    chunks = chunk_blocks(blocks, max_chars=60, overlap_chars=0)
    assert [c.text for c in chunks] == ["退货政策\n商品签收后七天内可以退货。运费由买家承担。\nShipping\nWe ship in 2 days.",
                                        "Express takes 1 day. Orders to Alaska take 10 days."]


def test_each_faq_pair_is_one_chunk_even_when_short():
    blocks = [Block("Q1?\nA1.", faq=True), Block("Q2?\nA2.", faq=True)]
    assert [c.text for c in chunk_blocks(blocks, max_chars=100, overlap_chars=10)] == ["Q1?\nA1.", "Q2?\nA2."]


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="overlap_chars"):
        chunk_blocks([Block("x")], max_chars=50, overlap_chars=50)


def test_bm25_terms_segment_chinese_and_stem_english_in_mixed_text():
    terms = bm25_tokens("我想申请退款 for my Refunded orders，怎么办？")
    assert {"申请", "退款", "refund", "order"} <= set(terms)
    assert "我" not in terms and "my" not in terms and "，" not in terms  # stop words and punctuation dropped
