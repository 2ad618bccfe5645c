"""The browser guard's rules (Host, Origin) and the content-type rule, on tiny ASGI apps: no models involved."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from modelbay.serve.browser_guard import (
    BrowserGuard,
    host_allowed,
    normalize_allowed_host,
    normalize_origin,
    same_origin,
    split_host,
)
from modelbay.serve.content_type import JSONByDefault


@pytest.mark.parametrize("authority, expected", [
    ("localhost", ("localhost", None)),
    ("LOCALHOST:8000", ("localhost", 8000)),
    ("localhost.", ("localhost", None)),
    ("127.0.0.1:18081", ("127.0.0.1", 18081)),
    ("[::1]:8000", ("::1", 8000)),
    ("evil.example", ("evil.example", None)),
])
def test_split_host(authority, expected):
    assert split_host(authority) == expected


@pytest.mark.parametrize("authority", ["evil.example@127.0.0.1", "127.0.0.1/x", "::1", "[::1", "a b", "x:", "x:0",
                                       "x:65536", "x:8000:1", "[evil.example]:80", ""])
def test_malformed_hosts_are_refused_not_guessed_at(authority):
    with pytest.raises(ValueError):
        split_host(authority)


def test_which_hosts_are_allowed():
    for host in ("localhost", "127.0.0.1", "127.8.9.10", "::1", "192.168.1.5"):  # loopback, and any address
        assert host_allowed(host, ()), host
    for host in ("evil.example", "localhost.evil.example", "127.0.0.1.nip.io", "testserver"):
        assert not host_allowed(host, ()), host
    assert host_allowed("ml.example.com", ("ml.example.com",))
    assert host_allowed("a.example.com", ("*.example.com",)) and not host_allowed("example.com", ("*.example.com",))
    assert not host_allowed("evilexample.com", ("*.example.com",))
    assert host_allowed("anything.at.all", ("*",))


def test_allowed_entries_are_normalized_and_checked():
    assert normalize_allowed_host(" ML.Example.com:8000 ") == "ml.example.com"
    assert normalize_origin("HTTPS://Tools.Example.com:443/") == "https://tools.example.com"
    assert normalize_origin("http://[::1]:8000") == "http://[::1]:8000"
    for bad in ("http://ml.example.com", "ml.example.com/api"):
        with pytest.raises(ValueError, match="allowed_hosts entry"):
            normalize_allowed_host(bad)
    for bad in ("tools.example.com", "https://tools.example.com/app", "null"):
        with pytest.raises(ValueError, match="not an origin"):
            normalize_origin(bad)


@pytest.mark.parametrize("origin, host, expected", [
    ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
    ("http://LOCALHOST:8000", "localhost:8000", True),
    ("https://ml.example.com", "ml.example.com", True),  # behind a TLS proxy: no port in either = 443
    ("https://ml.example.com:443", "ml.example.com", True),
    ("http://ml.example.com", "ml.example.com:80", True),
    ("http://127.0.0.1:3000", "127.0.0.1:8000", False),  # another local app (a notebook, a dev server)
    ("http://evil.example", "127.0.0.1:8000", False),
    ("null", "127.0.0.1:8000", False),  # sandboxed frames, file:// pages
    ("http://127.0.0.1:8000", None, False),
])
def test_same_origin(origin, host, expected):
    assert same_origin(origin, host) is expected


# -- the middleware, on a tiny app ----------------------------------------------------------------------

async def _echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"content_type": request.headers.get("content-type"), "body": body.decode()})


def _client(middleware, **options) -> TestClient:
    app = Starlette(routes=[Route("/echo", _echo, methods=["GET", "POST", "PUT", "PATCH"]),
                            Route("/healthz", _echo)])
    return TestClient(middleware(app, **options), base_url="http://127.0.0.1:8000")


def test_guard_refuses_foreign_hosts_and_cross_origin_pages():
    client = _client(BrowserGuard)
    assert client.get("/echo").status_code == 200
    rebound = client.post("/echo", headers={"host": "evil.example:8000"})
    assert rebound.status_code == 403
    error = rebound.json()["error"]
    assert error["code"] == "host_not_allowed" and "'evil.example'" in error["message"]
    assert "allowed_hosts" in error["hint"] and "MODELBAY_SERVE_ALLOWED_HOSTS=evil.example" in error["hint"]
    assert client.get("/echo", headers={"host": "bad host"}).status_code == 403

    cross = client.post("/echo", headers={"origin": "http://evil.example"})
    assert cross.status_code == 403 and cross.json()["error"]["code"] == "origin_not_allowed"
    assert "allowed_origins" in cross.json()["error"]["hint"]
    assert client.post("/echo", headers={"origin": "null"}).status_code == 403
    assert client.post("/echo", headers={"origin": "http://127.0.0.1:8000"}).status_code == 200  # same origin
    assert client.get("/healthz", headers={"host": "lb-probe.internal"}).status_code == 200  # probes stay open


def test_guard_lists_and_switches():
    listed = _client(BrowserGuard, allowed_hosts=("ml.example.com",), allowed_origins=frozenset({"https://t.example"}))
    assert listed.get("/echo", headers={"host": "ml.example.com"}).status_code == 200
    assert listed.post("/echo", headers={"origin": "https://T.example:443"}).status_code == 200
    assert listed.post("/echo", headers={"origin": "https://other.example"}).status_code == 403
    origin_only = _client(BrowserGuard, check_host=False)
    assert origin_only.get("/echo", headers={"host": "evil.example"}).status_code == 200
    assert origin_only.post("/echo", headers={"host": "evil.example", "origin": "http://evil.example"}).status_code == 200
    assert origin_only.post("/echo", headers={"origin": "http://evil.example"}).status_code == 403


def test_json_and_multipart_pass_untouched():
    client = _client(JSONByDefault)
    for content_type in ("application/json", "application/json; charset=utf-8", "application/merge-patch+json",
                         "multipart/form-data; boundary=x"):
        seen = client.post("/echo", content=b"{}", headers={"content-type": content_type}).json()
        assert seen["content_type"] == content_type


def test_curl_forms_and_bare_bodies_are_read_as_json():
    client = _client(JSONByDefault)
    form = client.post("/echo", content=b'{"inputs": ["hi"]}',
                       headers={"content-type": "application/x-www-form-urlencoded"})  # what `curl -d` sends
    assert form.json() == {"content_type": "application/json", "body": '{"inputs": ["hi"]}'}
    bare = client.post("/echo", content=b"{}", headers={"origin": "http://127.0.0.1:8000"})  # a script, vetted by Origin
    assert bare.json()["content_type"] == "application/json"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_text_and_browser_forms_get_415(method):
    client = _client(JSONByDefault)
    text = client.request(method, "/echo", content=b'{"inputs": ["x"], "pad": "="}', headers={"content-type": "text/plain"})
    assert text.status_code == 415
    error = text.json()["error"]
    assert error["code"] == "unsupported_media_type" and "'text/plain'" in error["message"]
    assert "Content-Type: application/json" in error["hint"]
    browser_form = client.request(method, "/echo", content=b"a=b", headers={
        "content-type": "application/x-www-form-urlencoded", "origin": "http://127.0.0.1:8000"})
    assert browser_form.status_code == 415 and "Origin" in browser_form.json()["error"]["message"]
    assert client.request(method, "/echo", headers={"content-type": "application/octet-stream"},
                          content=b"x").status_code == 415


def test_empty_bodies_and_reads_are_not_checked():
    client = _client(JSONByDefault)
    assert client.post("/echo", headers={"content-type": "text/plain", "content-length": "0"}).status_code == 200
    assert client.get("/echo", headers={"content-type": "text/plain"}).json()["content_type"] == "text/plain"


def test_server_config_reads_the_lists_from_yaml_and_the_environment(tmp_path, monkeypatch):
    from modelbay.serve.config import ServerConfig

    monkeypatch.setenv("MODELBAY_SERVE_ALLOWED_HOSTS", "ML.example.com, *.corp.example")
    monkeypatch.setenv("MODELBAY_SERVE_ALLOWED_ORIGINS", '["https://tools.example.com:443"]')
    config = ServerConfig.load()
    assert config.allowed_hosts == ["ml.example.com", "*.corp.example"]
    assert config.allowed_origins == ["https://tools.example.com"]
    monkeypatch.delenv("MODELBAY_SERVE_ALLOWED_HOSTS")
    path = tmp_path / "server.yaml"
    path.write_text("allowed_hosts: [modelbay.internal]\n")
    assert ServerConfig.load(path).allowed_hosts == ["modelbay.internal"]
    path.write_text("allowed_hosts: ['http://modelbay.internal/']\n")
    with pytest.raises(ValueError, match="allowed_hosts entry 'http://modelbay.internal/'"):
        ServerConfig.load(path)
