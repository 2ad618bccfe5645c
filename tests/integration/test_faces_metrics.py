"""The "verification" metric family (modelbay.ml.metrics.verification) on hand-made distances: logic only."""

from __future__ import annotations

import importlib

import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.metrics import get_family

V = importlib.import_module("modelbay.ml.metrics.verification")


def preds(distances, threshold=0.6):
    return [{"distance": d, "threshold": threshold, "same": None} for d in distances]


def test_accuracy_tar_far_at_the_models_threshold():
    m = get_family("verification")(["same", "same", "same", "different", "different"], preds([0.2, 0.5, 0.7, 0.55, 0.9]))
    assert m["headline"] == "accuracy"
    assert (m["accuracy"], m["tar"], m["far"]) == (0.6, round(2 / 3, 4), 0.5)
    assert (m["same_pairs"], m["different_pairs"], m["threshold"]) == (3, 2, 0.6)


def test_tar_at_far_takes_the_largest_threshold_whose_far_fits():
    # 100 impostors at 0.50, 0.51, ...; genuine pairs spread below and above them
    impostors = [0.5 + i / 100 for i in range(100)]
    genuine = [0.3, 0.4, 0.49, 0.505, 0.515, 0.6]
    same = [True] * len(genuine) + [False] * len(impostors)
    tar, threshold = V.tar_at_far(same, genuine + impostors, 0.01)  # one impostor (0.50) may be accepted
    assert threshold == pytest.approx((0.505 + 0.51) / 2) and tar == pytest.approx(4 / 6)  # 0.3, 0.4, 0.49, 0.505 are below 0.51
    tar0, _ = V.tar_at_far(same, genuine + impostors, 0.001)  # none may be: only those under 0.50
    assert tar0 == pytest.approx(3 / 6)


def test_best_threshold_is_half_way_and_pairs_without_a_face_are_rejections():
    assert V.best_threshold([True, True, False], [0.2, 0.4, 0.8]) == (pytest.approx(0.6), 1.0)
    m = get_family("verification")([True, False, True], preds([0.3, None, None]))
    assert m["no_face_pairs"] == 2 and m["accuracy"] == round(2 / 3, 4) and m["far"] == 0.0


@pytest.mark.parametrize("value, same", [(True, True), ("yes", True), (1, True), ("0", False), ("Different", False)])
def test_labels_in_every_usual_spelling(value, same):
    assert V.same_label(value) is same


def test_bad_labels_and_predictions_are_named():
    with pytest.raises(BadInput, match="maybe"):
        get_family("verification")(["maybe"], preds([0.1]))
    with pytest.raises(BadInput, match="distance"):
        get_family("verification")([True], [0.1])
