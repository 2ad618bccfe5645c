"""Train a text classifier from the CLI; it runs by name, and the server answers the same as `run`."""

import json

from typer.testing import CliRunner

from modelbay.cli import app


def test_train_run_promote_and_serve(fresh_settings, tickets):
    runner = CliRunner()
    args = ["train", "text-classification", "--data", str(tickets), "--name", "support-intent",
            "--text-col", "message", "--label-col", "intent", "--param", "max_epochs=40", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    assert trained["model"] == "support-intent@1" and trained["promoted"] is True
    assert set(trained["card"]["labels"]) == {"billing", "delivery", "login"}  # the intents of the tickets fixture
    assert trained["card"]["name"] == "support-intent"  # the model's name, not the data file's

    texts = ["the payment was taken twice", "my package is late", "I can't sign in to my account"]
    result = runner.invoke(app, ["run", "support-intent", "--json", *texts])
    assert result.exit_code == 0, result.output
    by_cli = json.loads(result.output)
    assert [o["label"] for o in by_cli] == ["billing", "delivery", "login"]

    result = runner.invoke(app, ["train", "text-classification", "--data", str(tickets), "--name", "support-intent",
                                 "--text-col", "message", "--label-col", "intent", "--param", "seed=3"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["models", "promote", "support-intent@2"]).exit_code == 0
    listing = json.loads(runner.invoke(app, ["models", "list", "--trained", "--json"]).output)
    assert [(r["model"], r["promoted"]) for r in listing] == [("support-intent@1", False), ("support-intent@2", True)]

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    result = runner.invoke(app, ["run", "support-intent@1", "--json", *texts])
    by_cli_v1 = json.loads(result.output)
    with TestClient(create_app()) as client:
        response = client.post("/v1/tasks/text-classification", json={"inputs": texts, "model": "support-intent@1"})
        assert response.status_code == 200, response.text
        assert response.json()["outputs"] == by_cli_v1  # the server answers exactly what `modelbay run` does
        models = {m["id"] for m in client.get("/v1/models").json()["data"]}
        assert "support-intent" in models


def test_training_errors_name_the_problem(fresh_settings, tickets, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["train", "text-classification", "--data", str(tickets), "--name", "x",
                                 "--text-col", "nope", "--label-col", "intent"])
    assert result.exit_code != 0 and "nope" in result.output
    result = runner.invoke(app, ["train", "chat", "--data", str(tickets), "--name", "x"])
    assert result.exit_code != 0 and "cannot be trained" in result.output
    result = runner.invoke(app, ["train", "text-classification", "--data", str(tickets), "--name", "x",
                                 "--text-col", "message", "--label-col", "intent", "--param", "learning_rat=1"])
    assert result.exit_code != 0 and "learning_rat" in result.output
    from modelbay.core.store import ArtifactStore

    assert ArtifactStore().list() == []  # failed runs leave nothing behind


def test_models_verify_passes_with_a_trained_model_present(fresh_settings, tickets):
    runner = CliRunner()
    result = runner.invoke(app, ["train", "text-classification", "--data", str(tickets), "--name", "intent",
                                 "--text-col", "message", "--label-col", "intent", "--param", "max_epochs=5"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["models", "verify", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["intent"]["verified"] is None and rows["all-minilm-l6-v2"]["verified"] is True
