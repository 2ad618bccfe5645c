"""The anomaly-detection task end to end: series with the default model, a record detector trained on normal
rows, run by name over the CLI, Python and HTTP, `modelbay eval` on labelled series and records, and errors."""

import csv
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput

pytestmark = pytest.mark.models("anomaly-detection")


def _rows(n, seed, anomalies=0):
    rng = np.random.default_rng(seed)
    rows = [{"amount": round(float(rng.normal(50, 5)), 3), "hour": round(float(rng.normal(14, 2)), 3), "label": 0}
            for _ in range(n)]
    for i in range(anomalies):
        rows.append({"amount": 400.0 + 10 * i, "hour": 3.0, "label": 1})
    return rows


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_series_with_the_default_model(loaded_task):
    task = loaded_task("anomaly-detection")
    noise = np.random.default_rng(0).normal(0, 0.3, 240)
    values = [100 + 10 * math.sin(2 * math.pi * i / 24) + float(noise[i]) for i in range(240)]
    values[100] += 8
    dates = [f"2026-01-{1 + i // 24:02d}T{i % 24:02d}:00:00" for i in range(240)]
    out = task([task.coerce({"series": values, "timestamps": dates})])[0]
    assert out.kind == "series" and out.season_length == 24      # hourly dates: a daily season
    assert 100 in out.anomalies and len(out.anomalies) <= 3 and len(out.scores) == 240
    assert out.scores[100] == max(out.scores)
    assert out.change_points == []
    raw = task([task.coerce({"series": values, "method": "zscore"})])[0]
    assert raw.anomalies == []                                     # the spike hides inside the season
    assert "anomalies of 240" in out.summary()


def test_cli_runs_a_bare_series_and_a_json_point(fresh_settings):
    runner = CliRunner()
    result = runner.invoke(app, ["run", "anomaly-detection", "--json", "10,11,10,12,11,60,10,11,12,10,11,10"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)[0]
    assert out["anomalies"] == [5] and out["method"] == "stl"
    point = runner.invoke(app, ["run", "anomaly", "--json", '{"series_id": "cli-1", "value": 3.5}'])
    assert point.exit_code == 0, point.output
    assert json.loads(point.output)[0]["n_seen"] == 1


def test_train_run_eval_and_serve_a_record_detector(fresh_settings, tmp_path):
    train = _write(tmp_path / "normal.csv", _rows(300, 1))
    runner = CliRunner()
    result = runner.invoke(app, ["train", "anomaly-detection", "--data", str(train), "--name", "payments", "--json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["data"]["n_rows"] == 300 and card["data"]["features"] == ["amount", "hour"]
    assert card["config"]["algorithm"] == "iforest" and card["metrics"]["validation"]["threshold"] > 0

    import modelbay

    task = modelbay.pipeline("anomaly-detection", model="payments")
    odd, usual, partial = task([{"features": {"amount": 900.0, "hour": 3}}, {"features": {"amount": 50.0, "hour": 14}},
                                {"features": {"amount": 51.0}}])
    assert odd.kind == "record" and odd.is_anomaly and not usual.is_anomaly and not partial.is_anomaly
    assert odd.score > usual.score and odd.method == "iforest"
    with pytest.raises(BadInput, match=r"features \['colour'\] are not features of this model"):
        task([{"features": {"colour": 1.0}}])

    from modelbay.evaluate.runner import evaluate

    holdout = _write(tmp_path / "holdout.csv", _rows(200, 2, anomalies=10))
    report = evaluate("payments", holdout, n_bootstrap=100)
    assert report["family"] == "anomaly" and report["headline"] == "f1" and report["n"] == 210
    assert report["metrics"]["recall"] == 1.0 and report["value"] > 0.6 and report["metrics"]["roc_auc"] > 0.99

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        ok = client.post("/v1/tasks/anomaly-detection", json={"inputs": [{"features": {"amount": 900, "hour": 3}}],
                                                               "model": "payments"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["outputs"][0]["is_anomaly"] is True
        bad = client.post("/v1/tasks/anomaly-detection", json={"inputs": [{"features": {"amount": "lots"}}],
                                                                "model": "payments"})
        assert bad.status_code == 422 and "features" in bad.json()["error"]["message"]


@pytest.mark.parametrize("algorithm", ["lof", "ocsvm", "robust-z"])
def test_other_detectors_train_and_flag_the_obvious(fresh_settings, tmp_path, algorithm):
    from modelbay.tasks.anomaly_detection.model import AnomalyModel
    from modelbay.tasks.anomaly_detection.task import AnomalyDetection

    card = AnomalyDetection.fit(_write(tmp_path / "n.csv", _rows(200, 3)), tmp_path / "m", {"algorithm": algorithm})
    assert card["config"]["algorithm"] == algorithm
    model = AnomalyModel(tmp_path / "m")
    odd, usual = model.scores([{"amount": 900.0, "hour": 3.0}, {"amount": 50.0, "hour": 14.0}])
    assert odd > model.threshold > usual


def test_eval_on_labelled_series(loaded_task, tmp_path):
    from modelbay.evaluate.runner import evaluate_records
    from modelbay.tasks.anomaly_detection.task import AnomalyDetection

    rows = []
    for sid, spike_at in (("a", 30), ("b", 45)):
        for i in range(60):
            value = 10 + (i * 7) % 3 + (25 if i == spike_at else 0)
            rows.append({"series_id": sid, "timestamp": i, "value": value, "label": int(i == spike_at)})
    path = _write(tmp_path / "series.csv", rows)
    records = AnomalyDetection.load_data(path, {})
    assert [r["series_id"] for r in records] == ["a", "b"] and records[0]["label"][30] == 1
    report = evaluate_records(loaded_task("anomaly-detection"), records, options={}, n_bootstrap=0)
    metrics = report["metrics"]
    assert metrics["event_windows"] == 2 and metrics["event_recall"] == 1.0 and metrics["recall"] == 1.0


def test_a_record_needs_a_trained_model(loaded_task):
    task = loaded_task("anomaly-detection")
    with pytest.raises(BadInput, match="modelbay train anomaly-detection --data normal.csv"):
        task([task.coerce({"features": {"amount": 3.0}})])


@pytest.mark.parametrize("content, options, needle", [
    ("amount,label\n1,0\n", {"algorithm": "forest"}, "algorithm 'forest' is not one of"),
    ("amount,plan\n1,pro\n2,free\n", {}, "column 'plan' row 1 is 'pro', not a number"),
    ("amount\n1\n2\n", {}, "2 training rows; a detector needs at least 10"),
    ("amount\n1\n", {"false_alarm_rate": 0.9}, "false_alarm_rate must be between 0 and 0.5"),
    ("amount\n1\n", {"epochs": 3}, "unknown training option(s) epochs"),
])
def test_training_errors_name_the_problem(fresh_settings, tmp_path, content, options, needle):
    from modelbay.tasks.anomaly_detection.task import AnomalyDetection

    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInput) as info:
        AnomalyDetection.fit(path, tmp_path / "out", options)
    assert needle in str(info.value)
    assert not (tmp_path / "out").exists()
