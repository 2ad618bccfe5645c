"""The forecasting task end to end: run with the default model, train on a long table, run and eval the
trained model, serve it over HTTP, and the errors bad data gets."""

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput

pytestmark = pytest.mark.models("forecasting")


def _monthly(n, trend, noise, seed):
    rng = np.random.default_rng(seed)
    season = np.array([0, 2, 5, 4, 6, 9, 12, 11, 7, 3, 1, 2], dtype=float)
    return [round(float(100 + trend * i + 3 * season[i % 12] + noise * rng.standard_normal()), 3) for i in range(n)]


@pytest.fixture
def sales_csv(tmp_path):
    dates = [f"{2020 + i // 12}-{i % 12 + 1:02d}-01" for i in range(48)]
    series = {"flat_seasonal": _monthly(48, 0.0, 0.5, 1), "growing": _monthly(48, 2.0, 1.0, 2),
              "noisy": _monthly(48, 0.5, 8.0, 3)}
    path = tmp_path / "sales.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["unique_id", "ds", "y"])
        for key, ys in series.items():
            writer.writerows([key, d, y] for d, y in reversed(list(zip(dates, ys))))  # any row order
    return path, series


def test_default_model_chooses_per_request(loaded_task):
    task = loaded_task("forecasting")
    history = _monthly(48, 2.0, 1.0, 2)
    dates = [f"{2020 + i // 12}-{i % 12 + 1:02d}-01" for i in range(48)]
    out = task([task.coerce({"history": history, "horizon": 6, "timestamps": dates})])[0]
    assert out.season_length == 12                      # from the dates' frequency (MS)
    assert out.timestamps == ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]
    assert out.chosen_by == "backtest" and out.backtest_mase == min(v for v in out.backtest.values() if v is not None)
    assert out.model != "SeasonalNaive" and out.backtest_mase < out.backtest["SeasonalNaive"]  # the trend matters
    assert len(out.forecast) == 6 and [iv.level for iv in out.intervals] == [80, 95]
    i80, i95 = out.intervals
    for k, f in enumerate(out.forecast):
        assert i95.lower[k] <= i80.lower[k] <= f <= i80.upper[k] <= i95.upper[k]
    # the forecast continues the trend: next January is above this January
    assert out.forecast[0] > history[36] + 10


def test_train_run_eval_and_serve_a_trained_model(fresh_settings, sales_csv):
    path, _ = sales_csv
    runner = CliRunner()
    result = runner.invoke(app, ["train", "forecasting", "--data", str(path), "--name", "sales", "--json",
                                 "--param", "horizon=6"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["data"]["n_series"] == 3 and card["config"]["horizon"] == 6
    assert sum(card["training"]["chosen_models"].values()) == 3
    validation = card["metrics"]["validation"]
    assert validation["n_series_backtested"] == 3
    assert validation["backtest_mase_chosen"] <= validation["backtest_mase_SeasonalNaive"]

    import modelbay

    task = modelbay.pipeline("forecasting", model="sales")
    known = task([{"unique_id": "growing"}])[0]          # the stored history and choice
    assert known.chosen_by == "trained" and len(known.forecast) == 6 and known.season_length == 12
    assert known.timestamps[0] == "2024-01-01"
    other = task([{"unique_id": "new_store", "history": _monthly(40, 1.0, 1.0, 9), "season_length": 12}])[0]
    assert other.chosen_by == "backtest" and len(other.forecast) == 6
    with pytest.raises(BadInput, match="not a series of this model.*growing"):
        task([{"unique_id": "new_store"}])

    from modelbay.evaluate.runner import evaluate

    report = evaluate("sales", path)
    assert report["headline"] == "mase" and report["n"] == 3 and report["metrics"]["season"] == "per series"
    assert 0 < report["value"] < 1.5 and report["metrics"]["smape"] < 10

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        ok = client.post("/v1/tasks/forecasting", json={"inputs": [{"unique_id": "noisy"}], "model": "sales"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["outputs"][0]["forecast"] == task([{"unique_id": "noisy"}])[0].forecast
        bad = client.post("/v1/tasks/forecasting", json={"inputs": [{"history": [1, 2, 3, 4], "horizon": 0}]})
        assert bad.status_code == 422 and "horizon" in bad.json()["error"]["message"]


@pytest.mark.parametrize("content, options, needle", [
    ("id,ds,y\na,1,3\n", {}, "no column(s) ['unique_id']"),
    ("unique_id,ds,y\na,1,3\na,2,\n", {}, ":3: no value in 'y'"),
    ("unique_id,ds,y\na,1,3\na,2,lots\n", {}, "'y' is 'lots'; expected a number"),
    ("unique_id,ds,y\na,1,3\na,1,4\n", {}, "repeats ds '1'"),
    ("unique_id,ds,y\na,2024-01-01,3\na,someday,4\n", {}, "not dates pandas can read"),
    ("unique_id,ds,sales\na,1,3\n", {"y_col": "sales", "horizon": 0}, "horizon must be at least 1"),
    ("unique_id,ds,y\na,1,3\n", {"epochs": 3}, "unknown training option(s) epochs"),
])
def test_training_errors_name_the_problem(fresh_settings, tmp_path, content, options, needle):
    from modelbay.tasks.forecasting.task import Forecasting

    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInput) as info:
        Forecasting.fit(path, tmp_path / "out", options)
    assert needle in str(info.value)
    assert not (tmp_path / "out").exists()


def test_cli_run_with_a_bare_series():
    result = CliRunner().invoke(app, ["run", "forecasting", "--json", "5, 7, 6, 8, 7, 9, 8, 10, 9, 11, 10, 12",
                                      "--param", "horizon=2"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)[0]
    assert len(out["forecast"]) == 2 and out["chosen_by"] == "backtest" and out["season_length"] == 1
    assert 10 < out["forecast"][0] < 14


def test_cli_runs_a_trained_series_given_as_json(fresh_settings, sales_csv):
    path, _ = sales_csv
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "forecasting", "--data", str(path), "--name", "sales", "--param", "horizon=3",
                                  "--param", "candidates=[\"SeasonalNaive\", \"AutoETS\"]"])
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(app, ["run", "sales", "--json", '{"unique_id": "growing"}', "--param", "levels=[90]"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)[0]
    assert out["chosen_by"] == "trained" and out["model"] in ("SeasonalNaive", "AutoETS") and len(out["forecast"]) == 3
    assert [iv["level"] for iv in out["intervals"]] == [90] and out["timestamps"][0] == "2024-01-01"
