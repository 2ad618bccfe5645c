"""The tabled TreeSHAP values equal LightGBM's own (pred_contrib) row for row: numbers, categories, missing values."""

import numpy as np
import pytest

from modelbay.ml.tabular.treeshap import PatternShap


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 6, size=n).astype(float), rng.exponential(size=n),
                         rng.normal(size=n)])
    X[rng.random(n) < 0.1, 0] = np.nan                  # missing numbers
    X[rng.random(n) < 0.1, 1] = np.nan                  # missing categories
    X[rng.random(n) < 0.2, 3] = 0.0                     # zeros (read as missing with zero_as_missing)
    logit = np.nan_to_num(X[:, 0]) + (X[:, 1] % 3 == 0) - X[:, 2] + 0.5 * X[:, 3]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.mark.parametrize("params", [
    {"num_leaves": 6},
    {"num_leaves": 8, "zero_as_missing": True},
    {"num_leaves": 4, "use_missing": False},
])
def test_tabled_values_equal_lightgbm(params):
    import lightgbm as lgb

    X, y = _data()
    booster = lgb.train({"objective": "binary", "verbosity": -1, "seed": 0, "min_data_in_leaf": 20, **params},
                        lgb.Dataset(X[:2000], y[:2000], categorical_feature=[1]), num_boost_round=40)
    shap = PatternShap(booster)
    assert shap.usable
    test = np.vstack([X[2000:], [[np.nan, np.nan, 0.0, 0.0], [1e9, 99.0, -1.0, np.nan], [0.0, -3.0, np.nan, 1e-40]]])
    phi = shap.contributions(test)
    assert phi is not None
    np.testing.assert_allclose(phi, booster.predict(test, pred_contrib=True), atol=1e-12)
    again = shap.contributions(test[::-1].copy())  # from the filled table only
    np.testing.assert_allclose(again, booster.predict(test[::-1].copy(), pred_contrib=True), atol=1e-12)


def test_big_trees_are_left_to_lightgbm():
    import lightgbm as lgb

    X, y = _data()
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_leaves": 63, "min_data_in_leaf": 5},
                        lgb.Dataset(X, y), num_boost_round=5)
    shap = PatternShap(booster)
    assert not shap.usable and shap.contributions(X) is None
