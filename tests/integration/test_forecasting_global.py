"""The global LightGBM candidate: learned across a table's series, backtested per series like the others, stored and served."""

import csv
import json

import numpy as np
import pytest

from modelbay.core.errors import BadInput
from modelbay.tasks.forecasting.global_model import fit_global, forecast_global, lags_for, series_scale
from modelbay.tasks.forecasting.neural import fit_nbeats, forecast_nbeats, input_size_for


def _mean_reverting(n, level, phi, noise, seed):
    """AR(1) around ``level``: the naive forecast (the last value) is poor, a model of the pull back to the mean is not."""
    rng = np.random.default_rng(seed)
    y, value = [], level
    for _ in range(n):
        value = level + phi * (value - level) + noise * level * rng.standard_normal()
        y.append(round(float(value), 4))
    return y


@pytest.fixture
def table(tmp_path):
    series = {f"store_{i}": _mean_reverting(80, level=50.0 * (i + 1), phi=0.3, noise=0.1, seed=i) for i in range(8)}
    path = tmp_path / "stores.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["unique_id", "ds", "y"])
        for key, ys in series.items():
            writer.writerows([key, t, y] for t, y in enumerate(ys))
    return path, series


def test_lags_and_scale():
    assert lags_for(1) == [1, 2, 3, 4] and lags_for(12)[-1] == 24 and 12 in lags_for(12)
    assert series_scale([0, 0, 0]) == 1.0 and series_scale([-2.0, 2.0]) == 2.0


def test_one_model_learns_the_shared_pull_to_the_mean():
    histories = [_mean_reverting(80, 10.0 * (i + 1), 0.3, 0.1, i) for i in range(8)]
    model = fit_global(histories, season_length=1)
    out = forecast_global(model, histories[0], horizon=5)
    assert out.shape == (5,) and np.isfinite(out).all()
    assert abs(out[-1] - 10.0) < abs(histories[0][-1] - 10.0) + 1.0  # heads back toward the level
    assert fit_global([[1.0, 2.0, 3.0, 4.0, 5.0]], season_length=1) is None  # too few rows to learn from
    assert forecast_global(model, [1.0, 2.0], horizon=3) is None


def test_nbeats_learns_a_shared_season_and_forecasts_past_its_horizon():
    rng = np.random.default_rng(0)
    pattern = np.array([1.0, 3.0, 2.0, 5.0])
    histories = [list(level * np.tile(pattern, 15) * (1 + 0.02 * rng.standard_normal(60))) for level in (1, 10, 100)]
    model = fit_nbeats(histories, season_length=4, horizon=4)
    assert model.config.input_size == input_size_for(4, 4) == 8
    out = forecast_nbeats(model, list(50 * np.tile(pattern, 4)), horizon=6)  # a new scale, a longer horizon
    assert out.shape == (6,)
    assert np.argmax(out[:4]) == 3 and np.argmin(out[:4]) == 0  # the shape of the season, at the new scale
    assert forecast_nbeats(model, [1.0, 2.0], horizon=4) is None
    assert fit_nbeats([[1.0] * 10], season_length=4, horizon=4) is None  # too few windows


def test_trained_choice_stores_and_serves_the_global_model(fresh_settings, table):
    from modelbay import pipeline
    from modelbay.train.publish import train_to_store

    path, _ = table
    options = {"horizon": 4, "season_length": 1, "candidates": "SeasonalNaive,AutoETS,LightGBM,NBEATS"}
    artifact = train_to_store("forecasting", "stores", path, options)
    validation = artifact.card["metrics"]["validation"]
    assert validation["backtest_mase_LightGBM"] < validation["backtest_mase_SeasonalNaive"]
    assert validation["backtest_mase_NBEATS"] < validation["backtest_mase_SeasonalNaive"]
    saved = json.loads((artifact.path / "forecasting.json").read_text())
    for name in ("LightGBM", "NBEATS"):
        assert (artifact.path / saved["global"][name]["seasons"]["1"]["file"]).is_file()
    chosen = {k: e["model"] for k, e in saved["series"].items() if e["model"] in ("LightGBM", "NBEATS")}
    assert chosen, artifact.card["training"]
    uid = next(iter(chosen))
    out = pipeline("forecasting", model="stores")([{"unique_id": uid, "levels": [80, 90]}])[0]
    assert out.model == chosen[uid] and out.chosen_by == "trained" and len(out.forecast) == 4
    low80, low90 = out.intervals[0].lower, out.intervals[1].lower
    assert all(a <= m <= b for a, m, b in zip(low80, out.forecast, out.intervals[0].upper))
    assert all(w90 <= w80 for w90, w80 in zip(low90, low80))  # a wider level, a wider interval


def test_without_the_global_candidate_no_model_file_is_written(fresh_settings, table):
    from modelbay.train.publish import train_to_store

    path, _ = table
    artifact = train_to_store("forecasting", "stores-stat", path, {"horizon": 4, "season_length": 1})  # the default
    assert not list(artifact.path.glob("lightgbm-*.txt"))
    assert "backtest_mase_LightGBM" not in artifact.card["metrics"]["validation"]


def test_the_global_model_is_not_a_per_request_candidate(loaded_task):
    with pytest.raises(BadInput, match="needs a table of series"):
        from modelbay.tasks.forecasting.models import check_candidates

        check_candidates(["LightGBM"])
