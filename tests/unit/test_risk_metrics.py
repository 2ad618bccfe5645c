"""Risk metrics, thresholds and reasons: KS, PR-AUC and Brier against their definitions; threshold policies."""

import numpy as np
import pytest

from modelbay.ml.metrics import compute
from modelbay.ml.metrics.risk import risk_scores
from modelbay.tasks.risk_scoring.data import choose_positive
from modelbay.tasks.risk_scoring.reasons import reason_text, top_reasons
from modelbay.tasks.risk_scoring.threshold import choose_threshold, cost_threshold, precision_threshold


def test_scores_match_scipy_and_sklearn():
    from scipy.stats import ks_2samp
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.2).astype(int)
    p = np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(scale=0.2, size=len(y)), 0, 1)
    m = risk_scores(y, p, threshold=0.3)
    assert m["ks"] == pytest.approx(ks_2samp(p[y == 1], p[y == 0]).statistic, abs=1e-4)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-4)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-4)
    assert m["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-4)
    flagged = p >= 0.3
    assert m["precision"] == pytest.approx(y[flagged].mean(), abs=1e-4)
    assert m["recall"] == pytest.approx(flagged[y == 1].mean(), abs=1e-4)


def test_family_reads_labels_and_the_positive_from_predictions():
    preds = [{"risk": r, "positive": "bad", "threshold": 0.5} for r in (0.9, 0.6, 0.2, 0.1)]
    m = compute("risk", ["bad", "good", "bad", "good"], preds)
    assert m["headline"] == "roc_auc" and m["roc_auc"] == 0.75 and m["precision"] == 0.5 and m["recall"] == 0.5


def test_thresholds():
    assert cost_threshold(1.0)["value"] == 0.5 and cost_threshold(9.0)["value"] == pytest.approx(0.1)
    with pytest.raises(Exception, match="cost_ratio"):
        cost_threshold(0)
    rng = np.random.default_rng(1)
    p = rng.random(3000)
    y = (rng.random(3000) < p).astype(int)  # calibrated: precision above t is about (1 + t) / 2
    t = precision_threshold(y, p, 0.8)
    assert t["reached"] and 0.5 < t["value"] < 0.7
    flagged = p >= t["value"]
    assert y[flagged].mean() >= 0.8 and y[p >= t["value"] - 0.05].mean() < 0.8 + 0.02
    unreachable = precision_threshold(np.arange(40) % 2, np.linspace(0.01, 0.99, 40), 0.9)  # every other row
    assert not unreachable["reached"] and "no threshold reaches" in unreachable["why"]
    assert choose_threshold(y, p, None, None)["value"] == 0.5


def test_reasons_and_positive_labels():
    assert reason_text("debt_ratio", 0.91, 0.1234) == "debt_ratio = 0.91 raised the risk by 0.12"
    assert reason_text("plan", "pro", -0.0042) == "plan = pro lowered the risk by 0.004"
    contributions = np.array([[0.01, -0.2, 0.0], [0.0, 0.0, 0.0]])
    reasons = top_reasons(["a", "b", "c"], [{"a": 1, "b": 2}, {}], contributions, contributions * 4, [2, 3])
    assert [r["feature"] for r in reasons[0]] == ["b", "a"] and reasons[1] == []  # zero contributions are no reason
    assert reasons[0][0]["text"] == "b = 2 lowered the risk by 0.20"
    assert choose_positive({"good": 30, "bad": 10}, None) == "bad"
    assert choose_positive({"No": 30, "Yes": 10}, None) == "Yes"
    assert choose_positive({"stay": 30, "leave": 10}, None) == "leave"  # no usual word: the rarer
    assert choose_positive({"stay": 30, "leave": 10}, "stay") == "stay"
