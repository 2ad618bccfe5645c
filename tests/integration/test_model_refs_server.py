"""The server keys loaded models and metrics by a model's canonical reference, not by the string a client sent."""

import csv

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from modelbay.serve.app import create_app
from modelbay.serve.config import ServerConfig
from modelbay.train.publish import train_to_store

ROW = {"features": {"x": 1.5, "y": -0.5}}


@pytest.fixture
def table(tmp_path):
    """40 rows, two features, the label the sign of x: LightGBM trains it in about a second."""
    path = tmp_path / "signs.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["x", "y", "label"])
        writer.writerows([[i / 4 - 5, (i * 7) % 5 - 2, "pos" if i >= 20 else "neg"] for i in range(40)])
    return path


def _train(table):
    return train_to_store("tabular-classification", "signs", table, {"max_rounds": 20})


def _labels(client, metric):
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    return {(s.labels["task"], s.labels["model"]): s.value for s in families[metric].samples
            if s.name in (metric, f"{metric}_count")}


def test_every_spelling_of_a_model_is_one_loaded_copy_and_one_metrics_label(fresh_settings, table):
    assert _train(table).ref == "signs@1"
    with TestClient(create_app(ServerConfig())) as client:
        for spelling in ("signs@1", "signs@01", "signs@001", "signs@0000001", "signs"):
            response = client.post("/v1/tasks/tabular-classification", json={"inputs": [ROW], "model": spelling})
            assert response.status_code == 200, response.text
            assert response.json()["model"] == "signs@1"
        assert list(client.app.state.ctx.pool.status()) == [("tabular-classification", "signs@1")]
        assert list(client.app.state.ctx.batchers) == [("tabular-classification", "signs@1")]
        assert _labels(client, "modelbay_model_loaded") == {("tabular-classification", "signs@1"): 1}
        assert _labels(client, "modelbay_batch_size") == {("tabular-classification", "signs@1"): 5}
        listed = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
        assert listed["signs"]["loaded"] is True  # listed by the bare name, loaded as signs@1


def test_a_bare_name_follows_a_promotion_without_a_restart(fresh_settings, table):
    from modelbay.core.store import ArtifactStore

    _train(table)
    with TestClient(create_app(ServerConfig())) as client:
        assert client.post("/v1/tasks/tabular-classification",
                           json={"inputs": [ROW], "model": "signs"}).json()["model"] == "signs@1"
        _train(table)
        ArtifactStore().promote("signs@2")
        assert client.post("/v1/tasks/tabular-classification",
                           json={"inputs": [ROW], "model": "signs"}).json()["model"] == "signs@2"


def test_malformed_references_are_a_422_naming_the_rule(fresh_settings, table):
    _train(table)  # so that "@1" has a version 1 it could wrongly run
    with TestClient(create_app(ServerConfig())) as client:
        for model, says in [("signs@²", "whole number from 1"), ("signs@0", "whole number from 1"),
                            ("signs@1@2", "whole number from 1"), ("@1", "no model name before '@'")]:
            response = client.post("/v1/tasks/tabular-classification", json={"inputs": [ROW], "model": model})
            assert response.status_code == 422, response.text
            error = response.json()["error"]
            assert error["code"] == "bad_input" and says in error["message"] and "NAME@VERSION" in error["hint"]
        assert client.app.state.ctx.pool.status() == {}
