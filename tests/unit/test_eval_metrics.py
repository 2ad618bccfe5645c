"""Metric families checked against numbers worked out by hand, and the bootstrap CI."""

from __future__ import annotations

import doctest
import importlib
import math

import pytest

from modelbay.core.errors import BadInput
from modelbay.ml import metrics as M


@pytest.mark.parametrize("module", ["modelbay.ml.metrics", "modelbay.ml.metrics.classification",
                                    "modelbay.ml.metrics.text", "modelbay.ml.metrics.numeric", "modelbay.ml.metrics.qa",
                                    "modelbay.data.files", "modelbay.data.databases"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


def test_classification_by_hand():
    truth = ["neg", "neg", "neg", "pos", "pos"]
    pred = ["neg", "neg", "pos", "pos", "neg"]
    m = M.classification(truth, pred)
    assert m["headline"] == "accuracy" and m["accuracy"] == pytest.approx(3 / 5)
    # neg: P = R = 2/3 ; pos: P = R = 1/2
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert m["micro_f1"] == pytest.approx(3 / 5)  # single-label: micro = accuracy
    assert m["weighted_f1"] == pytest.approx((3 * 2 / 3 + 2 * 1 / 2) / 5)
    assert m["confusion_matrix"] == [[2, 1], [1, 1]]
    assert "roc_auc" not in m and "ece" not in m  # no probabilities, no curves or calibration


def test_classification_roc_pr_and_calibration_by_hand():
    truth = ["a", "a", "b", "b"]
    p_b = [0.1, 0.6, 0.4, 0.9]
    scores = [{"a": 1 - p, "b": p} for p in p_b]
    pred = ["a", "b", "a", "b"]
    m = M.classification(truth, pred, {"scores": scores})
    # b's scores 0.4 and 0.9 beat a's 0.1 and 0.6 in 3 of 4 pairs
    assert m["roc_auc"] == pytest.approx(0.75) and m["per_class_auc"]["b"]["roc_auc"] == pytest.approx(0.75)
    # ranking by P(b): 0.9 (b), 0.6 (a), 0.4 (b), 0.1 (a) -> AP = (1/1 + 2/3) / 2
    assert m["per_class_auc"]["b"]["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    # confidences of the predicted labels: 0.9 right, 0.6 wrong, 0.6 wrong, 0.9 right
    # bins (0.5, 0.6]: acc 0, conf 0.6 ; (0.8, 0.9]: acc 1, conf 0.9 -> ECE = 0.5 * 0.6 + 0.5 * 0.1
    assert m["ece"] == pytest.approx(0.35)
    assert m["brier"] == pytest.approx((2 * 0.1 ** 2 + 2 * 0.6 ** 2 + 2 * 0.6 ** 2 + 2 * 0.1 ** 2) / 4)
    assert m["log_loss"] == pytest.approx(-(2 * math.log(0.9) + 2 * math.log(0.4)) / 4)
    assert sum(b["count"] for b in m["reliability"]) == 4
    roc = m["curves"]["roc"]["b"]
    assert roc["fpr"][0] == 0 and roc["tpr"][-1] == 1


def test_classification_headline_can_be_chosen():
    m = M.classification(["a", "b"], ["a", "a"], {"headline": "macro_f1"})
    assert m["headline"] == "macro_f1"
    with pytest.raises(BadInput, match="headline 'nope'"):
        M.classification(["a"], ["a"], {"headline": "nope"})


def test_speech_wer_and_cer_by_hand():
    m = M.speech(["the cat sat on the mat", "hello world"], ["the cat sit on mat", "hello world"])
    # 1 substitution (sat/sit) + 1 deletion (the) over 8 reference words
    assert m["wer"] == pytest.approx(2 / 8) and m["headline"] == "wer"
    assert (m["substitutions"], m["deletions"], m["insertions"], m["hits"]) == (1, 1, 0, 6)
    assert M.speech(["abcd"], ["abxd"])["cer"] == pytest.approx(1 / 4)
    assert M.speech(["Hello, World!"], ["hello world"])["wer"] == 1.0
    assert M.speech(["Hello, World!"], ["hello world"], {"normalize": True})["wer"] == 0.0
    zh = M.speech(["今天天气很好"], ["今天天气不好"])
    assert zh["headline"] == "cer" and zh["cer"] == pytest.approx(1 / 6)
    assert M.speech(["one two"], [""])["wer"] == 1.0  # an empty transcript deletes every word


def test_translation_bleu_by_hand():
    ref, hyp = "the quick brown fox jumped over the lazy dog", "the quick brown fox jumps over the dog"
    m = M.translation([ref], [hyp])
    # n-gram precisions 7/8, 4/7, 2/6, 1/5; brevity penalty exp(1 - 9/8)
    expected = 100 * math.exp(1 - 9 / 8) * (7 / 8 * 4 / 7 * 2 / 6 * 1 / 5) ** 0.25
    assert m["bleu"] == pytest.approx(expected) and m["headline"] == "bleu"
    assert m["bleu_precisions"] == pytest.approx([87.5, 400 / 7, 100 / 3, 20.0])
    assert "tok:13a" in m["bleu_signature"]
    assert 0 < m["chrf"] < 100
    two_refs = M.translation([["a cat sat on the mat", ref]], [ref])
    assert two_refs["bleu"] == pytest.approx(100.0)
    assert "tok:zh" in M.translation(["今天天气很好"], ["今天天气不好"])["bleu_signature"]


def test_summarization_rouge_by_hand_and_in_chinese():
    m = M.summarization(["the cat sat on the mat"], ["the cat on the mat"])
    # unigrams: 5 of 5 predicted in the 6 of the reference -> F = 2 * 1 * 5/6 / (1 + 5/6)
    assert m["rouge1"] == pytest.approx(10 / 11)
    # bigrams: 3 shared of 4 predicted and 5 reference -> F = 2 * 3/4 * 3/5 / (3/4 + 3/5)
    assert m["rouge2"] == pytest.approx(2 / 3)
    zh = M.summarization(["今天天气很好"], ["今天天气不好"])
    assert zh["rouge1"] == pytest.approx(5 / 6) and zh["rouge2"] == pytest.approx(3 / 5)


def test_ner_exact_spans_and_bio_tags():
    truth = [[{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 15, "label": "LOC"}], []]
    pred = [[{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 14, "label": "LOC"}],
            [{"start": 1, "end": 2, "label": "ORG"}]]
    m = M.ner(truth, pred)
    # 1 true positive, 2 false positives, 1 false negative
    assert (m["precision"], m["recall"]) == pytest.approx((1 / 3, 1 / 2))
    assert m["f1"] == pytest.approx(2 * 1 / (2 * 1 + 2 + 1))
    assert m["per_type"]["PER"]["f1"] == 1.0 and m["per_type"]["LOC"]["support"] == 1
    assert m["macro_f1"] == pytest.approx(1 / 3)  # PER 1, LOC 0, ORG 0
    tags = M.ner([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
    assert tags["f1"] == 0.5
    with pytest.raises(BadInput, match="prediction 0"):
        M.ner([[]], [[{"start": "x"}]])


def test_ranking_by_hand():
    m = M.ranking([["a", "c"], {"x": 3, "y": 1}], [["a", "b", "c"], ["y", "x"]], {"k": 2})
    ndcg1 = 1 / (1 + 1 / math.log2(3))  # a at rank 1, c below k ; ideal: 2 relevant in the top 2
    ndcg2 = (1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3))  # graded: y (1) then x (3)
    assert m["ndcg@2"] == pytest.approx((ndcg1 + ndcg2) / 2)
    assert m["recall@2"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["map"] == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    assert m["mrr"] == 1.0 and m["headline"] == "ndcg@2"
    from sklearn.metrics import ndcg_score

    assert ndcg2 == pytest.approx(ndcg_score([[3, 1]], [[1, 2]], k=2))


def test_regression_and_forecast_by_hand():
    m = M.regression([1, 2, 3, 4], [1, 2, 3, 6])
    assert (m["mae"], m["rmse"], m["r2"]) == pytest.approx((0.5, 1.0, 1 - 4 / 5))
    f = M.forecast([[10, 12], [5]], [[11, 12], [7]], {"histories": [[1, 3, 2, 4, 3, 5], [1, 1]], "season": 2})
    # series 1: seasonal (m=2) differences of the history are all 1, MAE 0.5 -> MASE 0.5; series 2 has no scale
    assert f["mase"] == pytest.approx(0.5) and f["series_without_scale"] == 1 and f["headline"] == "mase"
    assert f["mape"] == pytest.approx(100 * (1 / 10 + 0 + 2 / 5) / 3)
    assert f["smape"] == pytest.approx(100 * (2 / 21 + 0 + 4 / 12) / 3)
    assert M.forecast(["[1, 2]"], ["1,3"])["headline"] == "smape"  # CSV cells; no history, no MASE
    with pytest.raises(BadInput, match="item 0: 2 actual values but 1 forecasts"):
        M.forecast([[1, 2]], [[1]])


def test_language_model_perplexity():
    m = M.language_model([None], [[math.log(0.5)] * 4])
    assert m["perplexity"] == pytest.approx(2.0) and m["bits_per_token"] == pytest.approx(1.0)


def test_bootstrap_is_deterministic_and_contains_the_estimate():
    truth = ["a", "b"] * 30
    pred = ["a", "b"] * 20 + ["b", "b"] * 10
    ci = M.bootstrap_ci("classification", truth, pred, n=500, seed=7)
    assert ci["metric"] == "accuracy" and ci["value"] == pytest.approx(50 / 60)
    assert ci["low"] < ci["value"] < ci["high"] and ci["valid_resamples"] == 500
    assert M.bootstrap_ci("classification", truth, pred, n=500, seed=7) == ci
    assert M.bootstrap_ci("classification", truth, pred, n=500, seed=8) != ci


@pytest.mark.parametrize(("family", "truth", "pred"), [
    ("classification", ["a", "b", "a", "b", "b"], ["a", "a", "a", "b", "b"]),
    ("speech", ["a b c", "d e", "f g h i"], ["a x c", "d e", "f h i"]),
    ("ner", [[(0, 1, "A")], [(0, 2, "B"), (3, 4, "A")], []], [[(0, 1, "A")], [(0, 2, "A")], [(5, 6, "B")]]),
    ("translation", ["the cat sat", "a dog ran home", "hello there"], ["the cat sat", "a dog ran", "hi there"]),
    ("regression", [1.0, 2.0, 3.0], [1.5, 2.0, 2.0]),
])
def test_vectorised_bootstrap_equals_calling_the_metric_on_each_resample(family, truth, pred):
    fn = M.get_family(family)
    fast = M.bootstrap_ci(fn, truth, pred, n=60, seed=3)
    slow = M.bootstrap_ci(lambda t, p: fn(t, p)[fast["metric"]], truth, pred, n=60, seed=3)
    assert (fast["low"], fast["high"]) == pytest.approx((slow["low"], slow["high"]))


def test_bad_inputs_are_clear():
    with pytest.raises(BadInput, match="equal, non-zero"):
        M.classification(["a"], [])
    with pytest.raises(BadInput, match="unknown metric family 'bleu'"):
        M.get_family("bleu")
    with pytest.raises(BadInput, match="truth 1: expected a number"):
        M.regression([1, "x"], [1, 2])
