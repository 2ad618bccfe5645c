"""PSI drift: bins from training data, shares of a live batch, the index and its bands."""

import math

import numpy as np
import pytest

from modelbay.ml.drift import (
    EPSILON,
    MISSING,
    OTHER,
    band,
    bin_shares,
    drift_report,
    population_stability_index,
    reference_histogram,
)


def test_psi_matches_the_formula_and_is_zero_for_the_same_shares():
    expected, actual = [0.25, 0.25, 0.5], [0.1, 0.4, 0.5]
    by_hand = sum((a - e) * math.log(a / e) for a, e in zip(actual, expected))
    assert population_stability_index(expected, actual) == pytest.approx(by_hand)
    assert population_stability_index(expected, expected) == 0.0
    # an empty bin is floored, so the index stays finite and large
    assert math.isfinite(population_stability_index([0.5, 0.5], [1.0, 0.0]))
    assert population_stability_index([0.5, 0.5], [1.0, 0.0]) == pytest.approx(
        (1 - 0.5) * math.log(1 / 0.5) + (EPSILON - 0.5) * math.log(EPSILON / 0.5))


def test_numeric_bins_are_training_deciles_with_a_missing_bin():
    values = np.r_[np.arange(1000, dtype=float), [np.nan] * 250]
    ref = reference_histogram(values, "numeric")
    assert len(ref["edges"]) == 9 and ref["labels"][-1] == MISSING
    assert ref["shares"][-1] == pytest.approx(0.2)
    assert ref["shares"][:-1] == pytest.approx([0.08] * 10)  # 100 of 1250 rows per decile
    # a value equal to an edge falls in the bin the edge closes
    assert bin_shares(ref, [ref["edges"][0]])[0] == 1.0
    shifted = bin_shares(ref, list(np.arange(1000, dtype=float) + 500))
    assert shifted[-2] == pytest.approx(0.6) and shifted[-1] == 0.0


def test_constant_and_categorical_columns():
    ref = reference_histogram([3.0] * 50, "numeric")
    assert ref["edges"] == [3.0] and ref["shares"][0] == 1.0
    cats = reference_histogram(["a"] * 6 + ["b"] * 3 + [None], "categorical")
    assert cats["labels"] == ["a", "b", OTHER, MISSING] and cats["shares"] == pytest.approx([0.6, 0.3, 0.0, 0.1])
    assert bin_shares(cats, ["a", "zzz", None, None]) == pytest.approx([0.25, 0.0, 0.25, 0.5])


def test_report_orders_features_and_bands():
    rng = np.random.default_rng(0)
    train = {"stable": rng.normal(size=5000), "moved": rng.normal(size=5000), "colour": ["red", "blue"] * 2500}
    refs = {"stable": reference_histogram(train["stable"], "numeric"),
            "moved": reference_histogram(train["moved"], "numeric"),
            "colour": reference_histogram(train["colour"], "categorical")}
    live = {"stable": rng.normal(size=2000), "moved": rng.normal(loc=1.0, size=2000), "colour": ["red"] * 2000}
    report = drift_report(refs, live)
    assert [f["feature"] for f in report["features"]][:2] == ["colour", "moved"] or \
        report["features"][0]["value"] >= report["features"][1]["value"]
    by_name = {f["feature"]: f for f in report["features"]}
    assert by_name["stable"]["band"] == "stable" and by_name["moved"]["band"] == "major"
    assert by_name["colour"]["band"] == "major" and report["n"] == 2000
    assert report["counts"] == {"stable": 1, "moderate": 0, "major": 2}
    assert band(0.0999) == "stable" and band(0.1) == "moderate" and band(0.25) == "major"
