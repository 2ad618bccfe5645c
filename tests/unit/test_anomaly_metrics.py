"""The "anomaly" metric family and the series scoring it is used on (no model, no store)."""

import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.metrics import bootstrap_ci, compute
from modelbay.ml.metrics.anomaly import event_windows
from modelbay.tasks.anomaly_detection.series import SeriesOptions, guess_period, rolling_scores, score_series


def test_point_metrics_and_event_windows_of_a_series():
    m = compute("anomaly", [[0, 1, 1, 1, 0, 0, 0, 1, 0]], [[0, 0, 0, 1, 0, 1, 0, 0, 0]])
    assert (m["true_positives"], m["false_positives"], m["false_negatives"]) == (1, 1, 3)
    assert m["precision"] == 0.5 and m["recall"] == 0.25 and m["f1"] == pytest.approx(2 / 6)
    assert m["event_windows"] == 2 and m["event_windows_found"] == 1 and m["event_recall"] == 0.5
    # a flag one point after the second window finds it with a margin of 1
    assert compute("anomaly", [[0, 1, 0, 0]], [[0, 0, 1, 0]], {"window_margin": 1})["event_recall"] == 1.0
    assert compute("anomaly", [[0, 1, 0, 0]], [[0, 0, 1, 0]])["event_recall"] == 0.0


def test_single_points_form_one_sequence_and_labels_may_be_words():
    m = compute("anomaly", ["normal", "anomaly", "anomaly", "normal", "1"], [False, False, True, False, False])
    assert m["event_windows"] == 2 and m["event_windows_found"] == 1 and m["recall"] == pytest.approx(1 / 3)
    with pytest.raises(BadInput, match="truth 0: expected 1/0"):
        compute("anomaly", ["maybe"], [0])
    with pytest.raises(BadInput, match="item 0: 3 labels but 2 flags"):
        compute("anomaly", [[0, 1, 0]], [[0, 1]])


def test_scores_give_ranking_metrics_and_bootstrap_uses_item_counts():
    class Out:
        def __init__(self, score):
            self.score = score

    truths, flags, scores = [0, 0, 1, 1, 0, 1], [0, 0, 1, 0, 0, 1], [0.1, 0.2, 0.9, 0.3, 0.25, 0.8]
    m = compute("anomaly", truths, flags, {"outputs": [Out(s) for s in scores]})
    assert m["roc_auc"] == 1.0 and m["average_precision"] == 1.0 and m["f1"] == pytest.approx(0.8)
    ci = bootstrap_ci("anomaly", truths, flags, n=200, seed=3)
    assert ci["metric"] == "f1" and ci["low"] <= 0.8 <= ci["high"]


def test_event_windows():
    assert event_windows([1, 1, 0, 0, 1]) == [(0, 1), (4, 4)]
    assert event_windows([0, 0]) == []


def test_rolling_scores_look_only_backwards():
    values = [10.0, 11, 10, 12, 11, 10, 11, 12, 10, 11, 100, 11]
    scores = rolling_scores(values, window_points=5, min_points=3)
    assert scores[:3] == [0.0, 0.0, 0.0]                       # warm-up
    assert max(range(len(scores)), key=scores.__getitem__) == 10
    # changing a later value never changes an earlier score
    assert rolling_scores(values[:10] + [10.0, 500.0], 5, 3)[:10] == scores[:10]


def test_stl_finds_a_spike_in_a_seasonal_series_that_raw_z_scores_miss():
    import math

    season = [10 * math.sin(2 * math.pi * i / 12) for i in range(120)]
    values = [100 + s + 0.3 * ((i * 7) % 5 - 2) for i, s in enumerate(season)]
    values[64] += 6                                           # small against the season, large against the noise
    assert guess_period(values) == 12
    stl = score_series(values, SeriesOptions(method="stl"))
    assert stl.season_length == 12 and 64 in [i for i, f in enumerate(stl.flags) if f]
    assert not score_series(values, SeriesOptions(method="zscore")).flags[64]


def test_change_points_mark_a_level_shift():
    values = [5.0 + 0.2 * ((i * 3) % 4) for i in range(40)] + [15.0 + 0.2 * ((i * 3) % 4) for i in range(40)]
    result = score_series(values, SeriesOptions(method="zscore"))
    assert result.change_points == [40]
