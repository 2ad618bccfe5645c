"""Forecasting logic that needs no model: backtest windows, MASE/sMAPE, input validation, the metric family."""

import math

import pytest

from modelbay.core.errors import BadInput
from modelbay.tasks.forecasting.backtest import BacktestConfig, choose_model, mase, mase_scale, origins, smape
from modelbay.tasks.forecasting.task import Forecasting


def _seasonal(n, season=4, trend=0.0, noise=0.0, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    pattern = np.array([10.0, 14.0, 8.0, 12.0, 9.0, 11.0, 13.0, 7.0, 10.0, 15.0, 12.0, 9.0])[:season]
    return [float(pattern[i % season] + trend * i + noise * rng.standard_normal()) + 50 for i in range(n)]


def test_backtest_windows_end_inside_the_history_and_leave_enough_to_fit():
    config = BacktestConfig(horizon=4, season_length=4, n_windows=3)
    assert origins(40, config) == [28, 32, 36]          # the last window's actuals are the last 4 points
    for n in range(60):
        for cut in origins(n, config):
            assert 8 <= cut and cut + 4 <= n            # never a window that reads past the history
    assert origins(11, config) == []                    # 8 points to fit + 4 to score: 12 needed
    assert origins(40, BacktestConfig(horizon=4, season_length=12, n_windows=5, step_points=2)) == [28, 30, 32, 34, 36]


def test_mase_and_smape_by_hand():
    train = [1.0, 3.0, 2.0, 4.0, 3.0, 5.0]              # seasonal (m=2) differences: 1, 1, 1, 1
    assert mase_scale(train, 2) == 1.0
    assert mase([6.0, 4.0], [5.0, 6.0], train, 2) == pytest.approx(1.5)
    assert mase_scale([7.0] * 6, 1) == 7.0              # a flat history falls back to its level, never 0
    assert smape([100.0, 0.0], [50.0, 0.0]) == pytest.approx(100 * (2 * 50 / 150) / 2)


def test_choice_follows_the_data():
    # a pure repeating pattern: seasonal naive forecasts it exactly, so nothing beats it
    exact = choose_model(_seasonal(40), BacktestConfig(horizon=4, season_length=4,
                                                      candidates=("SeasonalNaive", "AutoTheta")))
    assert exact.model == "SeasonalNaive" and exact.chosen_by == "backtest" and exact.windows == 3
    assert exact.mase["SeasonalNaive"] == pytest.approx(0.0, abs=1e-9)
    # a strong trend: seasonal naive lags a year behind, a trend model wins by far
    trending = choose_model(_seasonal(40, trend=3.0, noise=0.3), BacktestConfig(horizon=4, season_length=4,
                                                                              candidates=("SeasonalNaive", "AutoETS")))
    assert trending.model == "AutoETS" and trending.score < 0.5 * trending.mase["SeasonalNaive"]
    assert trending.score == min(v for v in trending.mase.values() if v is not None)


def test_too_short_to_backtest_falls_back_and_says_why():
    choice = choose_model(_seasonal(10), BacktestConfig(horizon=4, season_length=4))
    assert choice.model == "AutoETS" and choice.chosen_by.startswith("default") and "needs 12" in choice.chosen_by
    assert choice.score is None


@pytest.mark.parametrize("kwargs, needle", [
    ({"horizon": 0}, "horizon must be at least 1"),
    ({"horizon": 2, "season_length": 0}, "season_length must be at least 1"),
    ({"horizon": 2, "candidates": ("Prophet",)}, "unknown forecasting model"),
])
def test_bad_backtest_settings(kwargs, needle):
    with pytest.raises(BadInput, match=needle):
        BacktestConfig(**kwargs)


@pytest.mark.parametrize("item, needle", [
    ({"history": [1, 2, float("nan"), 4, 5]}, "history: Value error, value 2 is nan"),
    ({"history": [1, 2, 3]}, "at least 4"),
    ({"history": [1, 2, "x", 4]}, "history[2]"),
    ({"history": "1, 2, three, 4"}, "expected numbers separated by commas"),
    ({"history": [1, 2, 3, 4], "horizon": 0}, "horizon: Input should be greater than or equal to 1"),
    ({"history": [1, 2, 3, 4], "horizon": -3}, "horizon"),
    ({"history": [1, 2, 3, 4], "levels": [80, 100]}, "levels[1]"),
    ({"history": [1, 2, 3, 4], "timestamps": ["2024-01-01", "2024-02-01"]}, "2 timestamps for 4 history values"),
    ({"horizon": 3}, "give history"),
    ({"history": [1, 2, 3, 4], "colour": "red"}, "colour"),
])
def test_bad_inputs_name_the_problem(item, needle):
    with pytest.raises(BadInput) as info:
        Forecasting.coerce(item)
    assert needle in str(info.value)


def test_history_as_text_for_the_cli():
    assert Forecasting.coerce("5, 7 6,8").history == [5.0, 7.0, 6.0, 8.0]
    assert Forecasting.coerce({"history": "[1.5, 2, 3, 4]"}).history == [1.5, 2.0, 3.0, 4.0]


def test_forecast_metric_family_uses_each_series_own_season():
    from modelbay.ml.metrics import compute

    inputs = [{"history": [1.0, 3.0, 2.0, 4.0], "season_length": 2},     # seasonal diffs (m=2): 1, 1
              {"history": [1.0, 2.0, 4.0, 8.0], "season_length": 1}]     # diffs (m=1): 1, 2, 4 -> 7/3
    m = compute("forecast", [[5.0], [10.0]], [[4.0], [8.0]], {"inputs": inputs, "primary_field": "history"})
    assert m["headline"] == "mase" and m["season"] == "per series"
    assert m["mase"] == pytest.approx((1.0 / 1.0 + 2.0 / (7 / 3)) / 2)
    forced = compute("forecast", [[5.0], [10.0]], [[4.0], [8.0]], {"inputs": inputs, "season": 1})
    assert forced["season"] == 1 and forced["mase"] == pytest.approx((1 / (5 / 3) + 2 / (7 / 3)) / 2)
    assert math.isclose(m["smape"], 100 * (2 / 9 + 2 * 2 / 18) / 2)
