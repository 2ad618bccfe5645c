"""Issue #10 on the real app, in process: web pages cannot use an open (loopback, no-key) server.

The attack: a page on evil.example posts to 127.0.0.1 (cross-site, text/plain needs no preflight), or points
its own name at 127.0.0.1 (DNS rebinding) so its requests are same-origin. curl and SDKs must not notice.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from modelbay.serve.app import create_app
from modelbay.serve.config import AuthConfig, ServerConfig
from modelbay.serve.keys import KeyStore

BODY = b'{"inputs": ["I love it"], "model": "sentiment-vader"}'
ROUTE = "/v1/tasks/sentiment"
SERVER = "http://127.0.0.1:18081"


@pytest.fixture(scope="module")
def loopback(tmp_path_factory):
    """The default server: loopback, no key required; allowed_hosts=[] overrides the test suite's own hosts."""
    config = ServerConfig(allowed_hosts=[], auth=AuthConfig(keys_db=tmp_path_factory.mktemp("k") / "keys.db"))
    with TestClient(create_app(config), base_url=SERVER) as client:
        yield client


def test_a_text_plain_body_is_not_json(loopback):
    response = loopback.post(ROUTE, content=BODY, headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]["hint"]


def test_dns_rebinding_host_is_refused(loopback):
    response = loopback.post(ROUTE, content=BODY, headers={"host": "evil.example", "content-type": "application/json"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "host_not_allowed"
    assert loopback.get("/v1/jobs", headers={"host": "evil.example:18081"}).status_code == 403
    assert loopback.get("/healthz", headers={"host": "evil.example"}).status_code == 200  # probes reveal nothing


def test_a_cross_origin_page_is_refused(loopback):
    for origin in ("http://evil.example", "http://127.0.0.1:3000", "null"):
        response = loopback.post(ROUTE, content=BODY, headers={"origin": origin, "content-type": "application/json"})
        assert response.status_code == 403, origin
        assert response.json()["error"]["code"] == "origin_not_allowed"


def test_same_origin_pages_and_the_docs_keep_working(loopback):
    docs = loopback.get("/docs")  # the Swagger UI's "Try it out" is same-origin
    assert docs.status_code == 200
    response = loopback.post(ROUTE, content=BODY, headers={"origin": SERVER, "content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["label"] == "positive"
    assert loopback.get("/v1/tasks", headers={"host": "localhost:18081"}).status_code == 200


def test_curl_and_sdks_keep_working(loopback):
    curl_d = loopback.post(ROUTE, content=BODY, headers={"content-type": "application/x-www-form-urlencoded"})
    assert curl_d.status_code == 200, curl_d.text  # `curl -s 127.0.0.1:8000/v1/tasks/sentiment -d '{...}'`
    bare = loopback.post(ROUTE, content=BODY)  # httpx/requests with a raw body send no content type
    assert bare.status_code == 200, bare.text
    browser_form = loopback.post(ROUTE, content=BODY, headers={
        "content-type": "application/x-www-form-urlencoded", "origin": SERVER})
    assert browser_form.status_code == 415


def test_configured_hosts_and_origins(tmp_path):
    config = ServerConfig(allowed_hosts=["modelbay.internal"], allowed_origins=["https://tools.example.com"],
                          auth=AuthConfig(keys_db=tmp_path / "keys.db"))
    with TestClient(create_app(config), base_url="http://modelbay.internal:8000") as client:
        assert client.get("/v1/tasks").status_code == 200
        trusted = client.post(ROUTE, content=BODY, headers={"origin": "https://tools.example.com",
                                                            "content-type": "application/json"})
        assert trusted.status_code == 200, trusted.text
        assert client.get("/v1/tasks", headers={"host": "other.internal"}).status_code == 403


def test_servers_that_require_keys_check_hosts_only_when_told_to(tmp_path):
    with KeyStore(tmp_path / "keys.db") as store:
        _, secret = store.create("web")
    keyed = {"authorization": f"Bearer {secret}", "host": "api.example.com", "content-type": "application/json"}
    plain = ServerConfig(host="0.0.0.0", allowed_hosts=[], auth=AuthConfig(keys_db=tmp_path / "keys.db"))
    with TestClient(create_app(plain)) as client:  # a browser cannot attach the key to a forged request
        assert client.post(ROUTE, content=BODY, headers=keyed).status_code == 200
        assert client.post(ROUTE, content=BODY, headers={**keyed, "content-type": "text/plain"}).status_code == 415
    strict = plain.model_copy(update={"allowed_hosts": ["modelbay.internal"]})
    with TestClient(create_app(strict)) as client:
        assert client.post(ROUTE, content=BODY, headers=keyed).status_code == 403
        assert client.post(ROUTE, content=BODY, headers={**keyed, "host": "modelbay.internal"}).status_code == 200
