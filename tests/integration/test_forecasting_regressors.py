"""Exogenous regressors: a promotion column known ahead moves the forecast, in training, serving and eval."""

import csv

import numpy as np
import pytest
from pydantic import ValidationError

from modelbay.core.errors import BadInput

HORIZON = 4


def _promoted(n, level, seed):
    """Weekly-ish sales: noise around a level, +40% in promotion weeks (a random third of them)."""
    rng = np.random.default_rng(seed)
    promo = (rng.random(n) < 0.33).astype(int)
    sales = level * (1 + 0.4 * promo) + rng.normal(0, 0.03 * level, n)
    return [round(float(v), 3) for v in sales], [int(p) for p in promo]


@pytest.fixture
def promo_csv(tmp_path):
    path = tmp_path / "promo.csv"
    series = {f"shop_{i}": _promoted(70, 100.0 * (i + 1), i) for i in range(4)}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["unique_id", "ds", "y", "promo"])
        for key, (ys, ps) in series.items():
            writer.writerows([key, t, y, p] for t, (y, p) in enumerate(zip(ys, ps)))
    return path, series


def test_a_model_trained_with_a_regressor_uses_its_future_values(fresh_settings, promo_csv):
    from modelbay import pipeline
    from modelbay.train.publish import train_to_store

    path, _ = promo_csv
    options = {"horizon": HORIZON, "season_length": 1, "exog_cols": "promo",
               "candidates": "SeasonalNaive,AutoETS,AutoARIMA,Ensemble,LightGBM"}
    artifact = train_to_store("forecasting", "promo", path, options)
    validation = artifact.card["metrics"]["validation"]
    # the regression models see the promotions, seasonal naive cannot
    assert validation["backtest_mase_AutoARIMA"] < 0.7 * validation["backtest_mase_SeasonalNaive"]
    assert set(artifact.card["training"]["chosen_models"]) <= {"AutoARIMA", "Ensemble", "LightGBM"}
    task = pipeline("forecasting", model="promo")
    out = task([{"unique_id": "shop_1", "future_exog": {"promo": [1, 0, 1, 0]}}])[0]
    assert len(out.forecast) == HORIZON
    assert out.forecast[0] > 1.2 * out.forecast[1] and out.forecast[2] > 1.2 * out.forecast[3]
    with pytest.raises(BadInput, match="regressors \\['promo'\\]; future_exog lacks"):
        task([{"unique_id": "shop_1"}])


def test_eval_splits_the_regressors_with_the_series(fresh_settings, promo_csv):
    from modelbay.evaluate.runner import evaluate
    from modelbay.train.publish import train_to_store

    path, _ = promo_csv
    train_to_store("forecasting", "promo-eval", path, {"horizon": HORIZON, "season_length": 1, "exog_cols": "promo"})
    result = evaluate("promo-eval", path, options={"horizon": HORIZON, "season_length": 1, "exog_cols": "promo"},
                      n_bootstrap=0)
    assert result["n"] == 4 and result["metrics"]["mase"] < 1.0


def test_a_request_may_bring_its_own_regressors(loaded_task):
    sales, promo = _promoted(60, 200.0, 7)
    task = loaded_task("forecasting")
    item = task.coerce({"history": sales, "exog": {"promo": promo}, "future_exog": {"promo": [0, 1, 0]}, "season_length": 1})
    out = task([item])[0]
    assert len(out.forecast) == 3  # the horizon comes from the future values
    assert out.backtest["AutoARIMA"] < 0.7 * out.backtest["SeasonalNaive"]  # the regression sees the promotions
    assert out.forecast[1] > 1.2 * out.forecast[0]


@pytest.mark.parametrize("item, says", [
    ({"history": [1.0] * 20, "exog": {"promo": [0] * 19}, "future_exog": {"promo": [1]}}, "19 values for 20 history"),
    ({"history": [1.0] * 20, "exog": {"promo": [0] * 20}}, "exog without future_exog"),
    ({"history": [1.0] * 20, "exog": {"promo": [0] * 20}, "future_exog": {"price": [1]}}, "give the same regressors"),
    ({"history": [1.0] * 20, "horizon": 2, "exog": {"a": [0] * 20}, "future_exog": {"a": [1]}}, "one per forecast step"),
])
def test_inconsistent_regressors_are_named(item, says):
    from modelbay.tasks.forecasting.task import ForecastInput

    with pytest.raises(ValidationError, match=says):
        ForecastInput.model_validate(item)
