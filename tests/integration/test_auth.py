"""API keys on the real app, in process: required off loopback, open on loopback, counted, rate limited."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from modelbay.serve.app import create_app
from modelbay.serve.config import AuthConfig, ServerConfig
from modelbay.serve.keys import KeyStore

BODY = {"inputs": ["ok"], "model": "sentiment-vader"}
ROUTE = "/v1/tasks/sentiment"


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def keys_db(tmp_path):
    return tmp_path / "keys.db"


@pytest.fixture
def key(keys_db):
    with KeyStore(keys_db) as store:
        return store.create("tester")


def _client(keys_db, host="0.0.0.0", **auth) -> TestClient:
    # TestClient does not bind: auth_required comes from config.host, as it would for the real bind address
    return TestClient(create_app(ServerConfig(host=host, auth=AuthConfig(keys_db=keys_db, **auth))))


def test_off_loopback_a_key_is_required(keys_db, key):
    _, secret = key
    with _client(keys_db) as client:
        missing = client.post(ROUTE, json=BODY)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        error = missing.json()["error"]
        assert error["code"] == "unauthorized" and "modelbay keys create" in error["hint"]

        ok = client.post(ROUTE, json=BODY, headers=_bearer(secret))
        assert ok.status_code == 200, ok.text
        assert ok.json()["outputs"][0]["label"] in ("positive", "neutral", "negative")

        wrong = client.post(ROUTE, json=BODY, headers=_bearer(secret[:-2] + "zz"))
        assert wrong.status_code == 401 and "invalid_token" in wrong.headers["www-authenticate"]
        basic = client.post(ROUTE, json=BODY, headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert basic.status_code == 401 and "Bearer" in basic.json()["error"]["message"]
        assert client.get("/v1/models").status_code == 401  # every API route, not only tasks
        assert client.get("/metrics").status_code == 401  # a Prometheus scrape sends the key as a bearer token
        assert client.get("/metrics", headers=_bearer(secret)).status_code != 401
        with KeyStore(keys_db) as store:  # ... a key with the metrics scope (`keys create prometheus -s metrics`)
            _, scraper = store.create("prometheus", scopes=["metrics"])
        assert client.get("/metrics", headers=_bearer(scraper)).status_code == 200


def test_revoked_keys_get_401_at_once(keys_db, key):
    key_id, secret = key
    with _client(keys_db) as client:
        assert client.post(ROUTE, json=BODY, headers=_bearer(secret)).status_code == 200
        with KeyStore(keys_db) as cli_side:  # as `modelbay keys revoke` would, from another process
            cli_side.revoke(key_id)
        response = client.post(ROUTE, json=BODY, headers=_bearer(secret))
        assert response.status_code == 401 and "revoked" in response.json()["error"]["message"]


def test_usage_is_counted_per_key(keys_db, key):
    key_id, secret = key
    with KeyStore(keys_db) as store:
        other_id, _ = store.create("other")
    with _client(keys_db) as client:
        for _ in range(3):
            assert client.post(ROUTE, json=BODY, headers=_bearer(secret)).status_code == 200
        client.post(ROUTE, json=BODY)  # refused: not counted against anyone
        counts = {k.id: k.requests for k in client.app.state.auth.store.list()}
    assert counts == {key_id: 3, other_id: 0}
    with KeyStore(keys_db) as store:  # written to disk by the time the server stopped
        assert {k.id: k.requests for k in store.list()}[key_id] == 3


def test_health_and_docs_stay_open(keys_db):
    with _client(keys_db) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200


def test_loopback_is_open_but_valid_keys_still_count(keys_db, key):
    key_id, secret = key
    with _client(keys_db, host="127.0.0.1") as client:
        assert client.post(ROUTE, json=BODY).status_code == 200
        assert client.post(ROUTE, json=BODY, headers=_bearer("sk-anything")).status_code == 200  # e.g. openai clients
        assert client.post(ROUTE, json=BODY, headers=_bearer(secret)).status_code == 200
        assert {k.id: k.requests for k in client.app.state.auth.store.list()} == {key_id: 1}


def test_loopback_without_a_key_file_creates_none(tmp_path):
    db = tmp_path / "keys.db"
    with _client(db, host="localhost") as client:
        assert client.post(ROUTE, json=BODY, headers=_bearer("mb_0123456789ab_" + "x" * 43)).status_code == 200
    assert not db.exists()


def test_required_can_be_overridden_both_ways(keys_db, key):
    _, secret = key
    with _client(keys_db, required=False) as client:
        assert client.post(ROUTE, json=BODY).status_code == 200
    with _client(keys_db, host="127.0.0.1", required=True) as client:
        assert client.post(ROUTE, json=BODY).status_code == 401
        assert client.post(ROUTE, json=BODY, headers=_bearer(secret)).status_code == 200


def test_rate_limit_gives_429_with_retry_after_then_recovers(keys_db, key):
    key_id, secret = key
    with KeyStore(keys_db) as store:
        _, other = store.create("other")
    now = [1000.0]
    with _client(keys_db, rate_limit_per_minute=2) as client:
        client.app.state.auth.limiter.clock = lambda: now[0]  # a fake clock instead of waiting
        assert [client.post(ROUTE, json=BODY, headers=_bearer(secret)).status_code for _ in range(2)] == [200, 200]
        limited = client.post(ROUTE, json=BODY, headers=_bearer(secret))
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "30"  # 2 per minute: the next one in 30 s
        assert limited.json()["error"]["code"] == "rate_limited" and key_id in limited.json()["error"]["message"]
        assert client.post(ROUTE, json=BODY, headers=_bearer(other)).status_code == 200  # limits are per key
        now[0] += 29.0
        assert client.post(ROUTE, json=BODY, headers=_bearer(secret)).status_code == 429
        now[0] += 1.0
        assert client.post(ROUTE, json=BODY, headers=_bearer(secret)).status_code == 200
        counts = {k.name: k.requests for k in client.app.state.auth.store.list()}
    assert counts == {"tester": 3, "other": 1}  # refused requests are not counted as usage


def test_the_key_id_reaches_request_state(keys_db, key):
    key_id, secret = key
    app = create_app(ServerConfig(host="0.0.0.0", auth=AuthConfig(keys_db=keys_db)))

    @app.get("/v1/whoami")
    async def whoami(request: __import__("fastapi").Request):
        return {"key": getattr(request.state, "api_key_id", None)}

    with TestClient(app) as client:
        assert client.get("/v1/whoami", headers=_bearer(secret)).json() == {"key": key_id}


def test_a_streamed_response_passes_through(keys_db, key):
    _, secret = key
    app = create_app(ServerConfig(host="0.0.0.0", auth=AuthConfig(keys_db=keys_db)))
    from fastapi.responses import StreamingResponse

    @app.get("/v1/count")
    async def count():
        async def pieces():
            for i in range(3):
                yield f"data: {i}\n\n"
        return StreamingResponse(pieces(), media_type="text/event-stream")

    with TestClient(app) as client, client.stream("GET", "/v1/count", headers=_bearer(secret)) as response:
        assert response.status_code == 200
        assert list(response.iter_lines()) == ["data: 0", "", "data: 1", "", "data: 2", ""]


def test_startup_warns_when_keys_are_required_but_none_exist(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="modelbay.serve.auth"), _client(tmp_path / "keys.db"):
        pass
    assert any("modelbay keys create" in r.getMessage() for r in caplog.records)
