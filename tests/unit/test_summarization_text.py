"""Sentences and languages (ml/sentences.py, ml/language_id.py) and the TextRank/LexRank ranking, no model."""

import numpy as np
import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.language_id import detect_language, supported_language
from modelbay.ml.sentences import join_sentences, pack_sentences, split_sentences
from modelbay.tasks.summarization.textrank import pagerank, pick_sentences, rank_order, similarity_graph


@pytest.mark.parametrize(("text", "language"), [
    ("Where is my parcel?", "en"), ("我的包裹在哪里？", "zh"), ("我想买 iPhone 15 Pro", "zh"),
    ("The Chinese word 你好 means hello", "en"), ("こんにちは、元気ですか", "ja"), ("안녕하세요", "ko"), ("12345 !!", "unknown"),
])
def test_the_language_follows_the_script(text, language):
    assert detect_language(text) == language


def test_an_unsupported_language_is_a_bad_input_naming_the_field():
    with pytest.raises(BadInput, match="looks like 'ja'") as err:
        supported_language("こんにちは、元気ですか", field="source_lang")
    assert "source_lang" in err.value.hint


def test_english_abbreviations_and_prices_end_no_sentence():
    assert split_sentences("Mr. Smith paid $3.50 for the U.S. edition. It came on Jan. 5th! Good?") == [
        "Mr. Smith paid $3.50 for the U.S. edition.", "It came on Jan. 5th!", "Good?"]


def test_chinese_sentences_keep_their_closing_quotes_and_lines_end_sentences():
    text = "今天天气很好。我们去公园吧！“好的。”他说。\n没有句号的一行\n最后……结束"
    assert split_sentences(text) == ["今天天气很好。", "我们去公园吧！", "“好的。”", "他说。", "没有句号的一行", "最后……", "结束"]


def test_sentences_are_packed_in_order_within_the_size_and_joined_per_language():
    sentences = ["一二三。", "四五。", "六七八九十。", "十一。"]
    pieces = pack_sentences(sentences, len, 7, "zh")
    assert pieces == ["一二三。四五。", "六七八九十。", "十一。"]
    assert "".join(pieces) == join_sentences(sentences, "zh")
    assert pack_sentences(["A very long sentence."], len, 3, "en") == ["A very long sentence."]  # never cut inside


def test_pagerank_favours_the_hub_and_sums_to_one():
    star = np.array([[0, 1, 1, 1], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]], dtype=float)
    scores = pagerank(star)
    assert scores.sum() == pytest.approx(1.0)
    assert scores.argmax() == 0 and scores[1] == pytest.approx(scores[3])


def test_the_central_sentences_are_picked_and_returned_in_document_order():
    rng = np.random.default_rng(0)
    topic, other = rng.normal(size=8), rng.normal(size=8)
    vectors = np.stack([other + rng.normal(scale=0.1, size=8)] + [topic + rng.normal(scale=0.3, size=8) for _ in range(4)]
                       + [rng.normal(size=8)])
    picked = pick_sentences(vectors, 2)
    assert picked == sorted(picked) and 0 not in picked and 5 not in picked
    assert sorted(rank_order(vectors)) == list(range(6)) and set(rank_order(vectors)[:2]) == set(picked)
    assert pick_sentences(vectors, 10) == list(range(6))


def test_lexrank_edges_are_unweighted_and_thresholded():
    graph = similarity_graph(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]), "lexrank")
    assert set(np.unique(graph)) <= {0.0, 1.0} and graph[0, 1] == 1.0 and graph[0, 2] == 0.0
    with pytest.raises(ValueError, match="textrank"):
        similarity_graph(np.eye(3), "pagerank")
