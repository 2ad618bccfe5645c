"""Tabular classification and regression with LightGBM, on datasets that ship inside scikit-learn.

Train from the CLI, run by name, serve: the server answers what `modelbay run` does.
"""

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _split(n, seed=0, test_fraction=0.2):
    perm = np.random.default_rng(seed).permutation(n)
    cut = round(n * test_fraction)
    return perm[cut:], perm[:cut]


@pytest.fixture
def cancer(tmp_path):
    """Breast cancer (569 rows, 30 features, target 0 = malignant / 1 = benign): 80% to train, 20% held out."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    header = [*data.feature_names, "target"]
    train, test = _split(len(data.target))
    path = _write_csv(tmp_path / "cancer.csv", header, [[*data.data[i], int(data.target[i])] for i in train])
    held_out = [({n: float(v) for n, v in zip(data.feature_names, data.data[i])}, str(data.target[i])) for i in test]
    return path, held_out


def test_breast_cancer_train_run_and_serve(fresh_settings, cancer):
    path, held_out = cancer
    runner = CliRunner()
    result = runner.invoke(app, ["train", "tabular-classification", "--data", str(path), "--label-col", "target",
                                 "--name", "risk", "--json"])
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    card = trained["card"]
    assert trained["model"] == "risk@1" and card["base"] == "lightgbm" and card["options"] == {"backend": "lightgbm"}
    validation = card["metrics"]["validation"]
    assert validation["auc"] > 0.95 and validation["accuracy"] > 0.9
    assert set(validation["before_calibration"]) >= {"log_loss", "ece", "accuracy", "auc"}
    assert card["training"]["best_iteration"] <= card["training"]["rounds_run"] <= 2000
    assert len(card["feature_importance"]) == 10 and card["labels"] == ["0", "1"]
    import hashlib

    assert card["data"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()

    rows = [features for features, _ in held_out]
    result = runner.invoke(app, ["run", "risk", "--json", json.dumps(rows[0]), json.dumps(rows[1])])
    assert result.exit_code == 0, result.output
    by_cli = json.loads(result.output)
    assert [o["label"] for o in by_cli] == [held_out[0][1], held_out[1][1]]

    from sklearn.metrics import roc_auc_score

    import modelbay

    outputs = modelbay.pipeline("tabular-classification", model="risk")([{"features": r} for r in rows])
    auc = roc_auc_score([label == "1" for _, label in held_out], [o.scores["1"] for o in outputs])
    assert auc > 0.95  # 114 rows never seen in training

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        response = client.post("/v1/tasks/tabular-classification",
                               json={"inputs": [{"features": rows[0]}, rows[1]], "model": "risk"})
        assert response.status_code == 200, response.text
        assert response.json()["outputs"] == by_cli  # the server answers exactly what `modelbay run` does
        bad = client.post("/v1/tasks/tabular-classification",
                          json={"inputs": [{"features": {"mean radius": 14, "blood type": "A"}}], "model": "risk"})
        assert bad.status_code == 422 and "blood type" in bad.json()["error"]["message"]
        bad = client.post("/v1/tasks/tabular-classification",
                          json={"inputs": [{"features": {"mean radius": "large"}}], "model": "risk"})
        assert bad.status_code == 422 and "mean radius" in bad.json()["error"]["message"]


def test_diabetes_regression_with_interval(fresh_settings, tmp_path):
    from sklearn.datasets import load_diabetes

    data = load_diabetes(scaled=False)
    path = _write_csv(tmp_path / "diabetes.csv", [*data.feature_names, "progression"],
                      [[*x, t] for x, t in zip(data.data, data.target)])
    runner = CliRunner()
    result = runner.invoke(app, ["train", "tabular-regression", "--data", str(path), "--label-col", "progression",
                                 "--name", "progression", "--param", "interval_coverage=0.8", "--json"])
    assert result.exit_code == 0, result.output
    validation = json.loads(result.output)["card"]["metrics"]["validation"]
    assert validation["r2"] > 0.3 and validation["mae"] < 60
    assert 0.6 <= validation["interval_coverage"] <= 1.0

    result = runner.invoke(app, ["run", "progression", "--json", json.dumps({"bmi": 35.0, "s5": 5.2, "bp": 110})])
    assert result.exit_code == 0, result.output
    heavy = json.loads(result.output)[0]
    light = json.loads(runner.invoke(app, ["run", "progression", "--json", json.dumps({"bmi": 19.0, "s5": 3.8})]).output)[0]
    assert heavy["value"] > light["value"]  # higher BMI and serum triglycerides: faster progression
    low, high = heavy["interval"]
    assert low < heavy["value"] < high


def test_categories_missing_values_multiclass_and_class_weights(fresh_settings, tmp_path):
    """JSONL with a text column, nulls, an id to drop and three imbalanced classes."""
    rng = np.random.default_rng(1)
    lines = []
    for i in range(600):
        plan = rng.choice(["basic", "pro", "team"], p=[0.6, 0.3, 0.1])
        usage = float(rng.gamma(2.0, 10.0))
        tickets = int(rng.poisson(1.0))
        score = usage / 10 + (3 if plan == "team" else 0) - tickets
        label = "churn" if score < 1.0 else ("upgrade" if score > 5.5 else "stay")
        row = {"id": f"c{i}", "plan": plan, "usage_h": usage if i % 7 else None, "tickets": tickets, "label": label}
        lines.append(json.dumps(row))
    path = tmp_path / "customers.jsonl"
    path.write_text("\n".join(lines) + "\n")
    from modelbay.core.registry import get_task

    cls = get_task("tabular-classification")
    seen = []
    out = tmp_path / "model"
    card = cls.fit(path, out, {"drop_cols": "id", "class_weight": "balanced", "max_rounds": 300},
                   progress=lambda stage, done, total: seen.append((stage, done, total)), name="customers")
    config = json.loads((out / "tabular.json").read_text())
    assert [f["name"] for f in config["features"]] == ["plan", "usage_h", "tickets"]
    plan = config["features"][0]
    assert plan["type"] == "categorical" and plan["categories"][0] == "basic"  # most frequent first
    assert "fill" not in config["features"][1] and "fill" in config["features"][2]  # usage_h had nulls
    assert card["labels"] == ["churn", "stay", "upgrade"] and card["metrics"]["validation"]["macro_f1"] > 0.7
    assert ("boosting rounds", 300, 300) in seen and seen[-1] == ("calibration", 1, 1)
    assert any(stage == "boosting rounds" and 0 < done < total for stage, done, total in seen)

    from modelbay.tasks.tabular.model import TabularModel

    model = TabularModel(out)
    probs = model.predict([{"plan": "team", "usage_h": 60.0, "tickets": 0}, {"plan": "enterprise", "usage_h": None},
                           {"plan": "basic", "usage_h": 2.0, "tickets": 4}])
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert [card["labels"][i] for i in probs.argmax(axis=1)][::2] == ["upgrade", "churn"]

    records = cls.load_data(path, {"drop_cols": ["id"]})
    assert records[0] == {"features": {"plan": json.loads(lines[0])["plan"], "usage_h": None,
                                       "tickets": float(json.loads(lines[0])["tickets"])},
                          "label": json.loads(lines[0])["label"]}
    regression = get_task("tabular-regression").load_data(path, {"label_col": "tickets", "feature_cols": ["usage_h"]})
    assert set(regression[1]) == {"features", "value"} and isinstance(regression[1]["value"], float)


@pytest.mark.parametrize("content, options, needle", [
    ("a,b\n1,2\n", {"label_col": "c"}, "'c'"),
    ("a,b\n1,2\n", {}, "no 'label' or 'target' column"),
    ("a,label\n" + "1,x\n" * 10, {}, "at least 20"),
    ("a,label\n" + "1,x\n" * 30 + "2,y,3\n", {}, "line 32"),
    ("a,label\n" + "1,x\n" * 30, {"learning_rat": 0.1}, "learning_rat"),
    ("a,label\n" + "1,x\n" * 30, {"drop_cols": ["idd"]}, "idd"),
    ("a,label\n" + "1,x\n" * 30, {}, "at least 2 labels"),
    ("a,label\n" + "1,x\n2,y\n" * 15 + "3,\n", {}, "line 32: no value in label column"),
])
def test_training_errors_name_the_problem(fresh_settings, tmp_path, content, options, needle):
    from modelbay.tasks.tabular.task import TabularClassification

    path = tmp_path / "table.csv"
    path.write_text(content)
    with pytest.raises(BadInput) as info:
        TabularClassification.fit(path, tmp_path / "out", options, name="x")
    assert needle in str(info.value)


def test_regression_needs_numbers_and_failed_cli_runs_leave_nothing(fresh_settings, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps({"a": i, "target": i * 2.0}) for i in range(30)) + '\n{"a": 1, "target": "lots"}\n')
    runner = CliRunner()
    result = runner.invoke(app, ["train", "tabular-regression", "--data", str(path), "--name", "x"])
    assert result.exit_code != 0 and "line 31" in result.output and "lots" in result.output
    from modelbay.core.store import ArtifactStore

    assert ArtifactStore().list() == []
