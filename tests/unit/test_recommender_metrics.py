"""The "recommendation" metric family (modelbay.ml.metrics.recommender) on lists worked out by hand."""

import math

import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.metrics import bootstrap_ci, compute


def test_values_worked_out_by_hand():
    # user 1: relevant {a, c}; ranked a (hit), b, c (hit) -> DCG 1 + 1/log2(4) = 1.5, ideal 1 + 1/log2(3)
    # user 2: relevant {x}; ranked y, x (hit at 2) -> DCG 1/log2(3), ideal 1
    m = compute("recommendation", [["a", "c"], ["x"]], [["a", "b", "c"], ["y", "x", "z"]], {"k": 3, "catalog_size": 10})
    ndcg1 = 1.5 / (1 + 1 / math.log2(3))
    ndcg2 = 1 / math.log2(3)
    assert m["headline"] == "ndcg@3"
    assert m["ndcg@3"] == pytest.approx((ndcg1 + ndcg2) / 2)
    assert m["recall@3"] == pytest.approx(1.0)                      # every relevant item is in each top 3
    assert m["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert m["map@3"] == pytest.approx(((1 + 2 / 3) / 2 + 1 / 2) / 2)
    assert m["hit_rate@3"] == 1.0
    assert m["coverage@3"] == pytest.approx(6 / 10) and m["distinct_items_recommended"] == 6


def test_k_cuts_the_list_and_recall_is_capped_by_k():
    truth = [[str(i) for i in range(20)]]          # 20 relevant items, k = 2: two hits are a perfect score
    m = compute("recommendation", truth, [["0", "1", "99"]], {"k": 2})
    assert m["recall@2"] == 1.0 and m["ndcg@2"] == pytest.approx(1.0) and m["map@2"] == pytest.approx(1.0)
    miss = compute("recommendation", truth, [["98", "99", "0"]], {"k": 2})
    assert miss["ndcg@2"] == 0.0 and miss["hit_rate@2"] == 0.0       # the hit at rank 3 is past k


def test_users_without_relevant_items_are_skipped_and_coverage_needs_a_catalog():
    m = compute("recommendation", [[], ["a"]], [["a"], ["a"]], {"k": 5})
    assert m["users_without_relevant"] == 1 and m["ndcg@5"] == 1.0
    assert m["coverage@5"] is None                   # no catalog size given


def test_ids_as_numbers_strings_and_dicts_compare_equal():
    m = compute("recommendation", ["1, 2"], [[{"item_id": 2}, 1]], {"k": 2})
    assert m["recall@2"] == 1.0


def test_bad_inputs_are_clear_errors():
    with pytest.raises(BadInput, match="k must be at least 1"):
        compute("recommendation", [["a"]], [["a"]], {"k": 0})
    with pytest.raises(BadInput, match="prediction 0: expected a list of item ids"):
        compute("recommendation", [["a"]], [42])
    with pytest.raises(BadInput, match="no user has a relevant item"):
        compute("recommendation", [[]], [["a"]])


def test_bootstrap_interval_brackets_the_value():
    truths = [["a"], ["b"], ["c"], ["d"]]
    preds = [["a", "x"], ["x", "b"], ["x", "y"], ["d", "y"]]
    ci = bootstrap_ci("recommendation", truths, preds, n=200, seed=0, extra={"k": 2})
    assert ci["metric"] == "ndcg@2" and ci["low"] <= ci["value"] <= ci["high"]
