"""Key scopes on the real app, in process: training is a privileged action, /metrics is its own right."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from modelbay.serve.app import create_app
from modelbay.serve.config import AuthConfig, ServerConfig
from modelbay.serve.keys import KeyStore

TASK_BODY = {"inputs": ["ok"], "model": "sentiment-vader"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """A key file with one key per kind of client; returns (path, {name: secret})."""
    db = tmp_path_factory.mktemp("scopes") / "keys.db"
    with KeyStore(db) as store:
        secrets = {name: store.create(name, scopes=scopes)[1] for name, scopes in {
            "runner": ["run"], "trainer": ["train"], "both": ["run", "train"], "prometheus": ["metrics"],
            "root": ["admin"]}.items()}
    return db, secrets


def _as(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module", params=["0.0.0.0", "127.0.0.1"], ids=["keys-required", "loopback-open"])
def client(request, keys):
    with TestClient(create_app(ServerConfig(host=request.param, auth=AuthConfig(keys_db=keys[0])))) as c:
        yield c


def test_a_run_only_key_cannot_reach_training_jobs(client, keys):
    runner = _as(keys[1]["runner"])
    for response in (client.post("/v1/jobs/train", json={}, headers=runner), client.get("/v1/jobs", headers=runner),
                     client.get("/v1/jobs/job-1", headers=runner), client.delete("/v1/jobs/job-1", headers=runner)):
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "insufficient_scope" and "'train'" in error["message"]
        assert "modelbay keys create NAME --scope train" in error["hint"]
        assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="train"'
    assert client.post("/v1/tasks/sentiment", json=TASK_BODY, headers=runner).status_code == 200


def test_train_and_admin_keys_reach_training_jobs(client, keys):
    for name in ("trainer", "both", "root"):
        listed = client.get("/v1/jobs", headers=_as(keys[1][name]))
        assert listed.status_code == 200, (name, listed.text)
        submitted = client.post("/v1/jobs/train", json={}, headers=_as(keys[1][name]))
        assert submitted.status_code == 422, (name, submitted.text)  # past the key check, refused for its body
    assert client.post("/v1/tasks/sentiment", json=TASK_BODY, headers=_as(keys[1]["trainer"])).status_code == 403


def test_metrics_needs_the_metrics_scope(client, keys):
    assert client.get("/metrics", headers=_as(keys[1]["prometheus"])).status_code == 200
    assert client.get("/metrics", headers=_as(keys[1]["root"])).status_code == 200
    assert client.get("/metrics", headers=_as(keys[1]["runner"])).status_code == 403
    assert client.get("/v1/models", headers=_as(keys[1]["prometheus"])).status_code == 403


def test_refusals_for_scope_are_not_counted_as_usage(keys):
    db, secrets = keys
    with TestClient(create_app(ServerConfig(host="0.0.0.0", auth=AuthConfig(keys_db=db)))) as c:
        before = {k.name: k.requests for k in c.app.state.auth.store.list()}["runner"]
        assert c.get("/v1/jobs", headers=_as(secrets["runner"])).status_code == 403
        after = {k.name: k.requests for k in c.app.state.auth.store.list()}["runner"]
    assert after == before


def test_anonymous_requests_on_an_open_server_keep_full_access(keys):
    with TestClient(create_app(ServerConfig(host="127.0.0.1", auth=AuthConfig(keys_db=keys[0])))) as c:
        assert c.get("/v1/jobs").status_code == 200
        assert c.get("/metrics").status_code == 200
