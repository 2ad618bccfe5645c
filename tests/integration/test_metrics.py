"""Observability in-process: Prometheus /metrics, request ids, JSON access log lines."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import StreamingResponse
from starlette.routing import Route

from modelbay.serve.access_log import UNMATCHED_ROUTE, RequestObserver
from modelbay.serve.app import create_app
from modelbay.serve.config import ServerConfig

VADER = {"inputs": ["great service", "awful wait"], "model": "sentiment-vader"}


@pytest.fixture
def client():
    """A fresh app per test: exact counts, no other test's traffic."""
    with TestClient(create_app(ServerConfig())) as c:
        yield c


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_lines():
    handler = _Lines()
    logger = logging.getLogger("modelbay.access")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def scrape(client: TestClient) -> dict[str, list[tuple[dict, float]]]:
    """Sample name -> [(labels, value)], parsed with prometheus_client's own parser."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out: dict[str, list[tuple[dict, float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def value(samples, name: str, **labels) -> float | None:
    return next((v for lab, v in samples.get(name, []) if all(lab.get(k) == w for k, w in labels.items())), None)


def test_request_counts_per_route_and_status(client):
    for _ in range(3):
        assert client.post("/v1/tasks/sentiment", json=VADER).status_code == 200
    assert client.post("/v1/tasks/sentiment", json={"inputs": [], "model": "sentiment-vader"}).status_code == 422
    assert client.post("/v1/tasks/sentiment", json={"inputs": ["x"], "model": "no-such-model"}).status_code == 404
    assert client.get("/healthz").status_code == 200
    m = scrape(client)
    total = "modelbay_requests_total"
    assert value(m, total, route="/v1/tasks/sentiment", method="POST", status="200") == 3
    assert value(m, total, route="/v1/tasks/sentiment", method="POST", status="422") == 1
    assert value(m, total, route="/v1/tasks/sentiment", method="POST", status="404") == 1
    assert value(m, total, route="/healthz", method="GET", status="200") == 1
    assert value(m, "modelbay_request_seconds_count", route="/v1/tasks/sentiment") == 5
    assert value(m, "modelbay_inflight_requests") == 1  # the scrape itself


def test_batch_histograms_count_forward_passes(client):
    for _ in range(4):  # one at a time: each request is its own forward pass of 2 items
        assert client.post("/v1/tasks/sentiment", json=VADER).status_code == 200
    m = scrape(client)
    labels = {"task": "sentiment", "model": "sentiment-vader"}
    assert value(m, "modelbay_batch_size_count", **labels) == 4
    assert value(m, "modelbay_batch_size_sum", **labels) == 8
    assert value(m, "modelbay_batch_size_bucket", le="1.0", **labels) == 0
    assert value(m, "modelbay_batch_size_bucket", le="2.0", **labels) == 4
    assert value(m, "modelbay_batch_seconds_count", **labels) == 4
    assert value(m, "modelbay_queue_items", **labels) == 0


def test_loaded_models_and_memory(client):
    m = scrape(client)
    assert value(m, "modelbay_models_loaded") == 0
    client.post("/v1/tasks/sentiment", json=VADER)
    client.post("/v1/tasks/sentiment", json={"inputs": ["x"], "model": "no-such-model"})
    m = scrape(client)
    assert value(m, "modelbay_models_loaded") == 1
    assert value(m, "modelbay_model_loaded", task="sentiment", model="sentiment-vader") == 1
    assert all(lab["model"] != "no-such-model" for lab, _ in m["modelbay_model_loaded"])
    assert value(m, "modelbay_process_resident_bytes") > 10 * 1024**2


def test_request_id_round_trips_or_is_generated(client):
    response = client.get("/healthz", headers={"X-Request-ID": "trace-42.a:b"})
    assert response.headers["x-request-id"] == "trace-42.a:b"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert client.get("/healthz").headers["x-request-id"] != generated
    for bad in ("x" * 200, "has space", "<script>", "-leading-dash"):
        echoed = client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert echoed != bad and len(echoed) == 32


def test_json_access_log_line(client, access_lines):
    response = client.post("/v1/tasks/sentiment", json=VADER, headers={"X-Request-ID": "req-abc"})
    client.get("/v1/tasks/missing/deeper")
    first, second = (json.loads(line) for line in access_lines[-2:])
    assert first["request_id"] == "req-abc" == response.headers["x-request-id"]
    assert first | {"ts": None, "duration_ms": None, "bytes_out": None} == {
        "ts": None, "request_id": "req-abc", "method": "POST", "path": "/v1/tasks/sentiment",
        "route": "/v1/tasks/sentiment", "status": 200, "duration_ms": None,
        "bytes_in": len(response.request.content), "bytes_out": None, "client": "testclient", "api_key_id": None,
    }
    assert first["bytes_out"] == len(response.content) and first["duration_ms"] > 0
    assert first["ts"].endswith("Z")
    assert second["status"] == 404 and second["route"] == UNMATCHED_ROUTE
    assert second["path"] == "/v1/tasks/missing/deeper"


def test_access_log_can_be_turned_off(access_lines):
    with TestClient(create_app(ServerConfig(access_log_json=False))) as c:
        response = c.get("/healthz")
        assert response.headers["x-request-id"]  # ids and metrics stay on
        assert value(scrape(c), "modelbay_requests_total", route="/healthz") == 1
    assert access_lines == []


def test_unknown_paths_do_not_explode_route_labels(client):
    def routes() -> set[str]:
        return {lab["route"] for lab, _ in scrape(client).get("modelbay_requests_total", [])}

    client.get("/healthz")
    routes()  # the first scrape counts itself under /metrics
    before = routes()
    for _ in range(50):
        client.get(f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}")
        client.request("BREW", f"/wp-admin/{uuid.uuid4().hex}.php")
    after = routes()
    assert len(after - before) <= 1
    assert after - before <= {UNMATCHED_ROUTE}
    methods = {lab["method"] for lab, _ in scrape(client)["modelbay_requests_total"]}
    assert "BREW" not in methods and "OTHER" in methods


def test_two_apps_in_one_process_keep_separate_registries():
    with TestClient(create_app(ServerConfig())) as a, TestClient(create_app(ServerConfig())) as b:
        a.get("/healthz")
        a.get("/healthz")
        b.get("/healthz")
        assert value(scrape(a), "modelbay_requests_total", route="/healthz") == 2
        assert value(scrape(b), "modelbay_requests_total", route="/healthz") == 1


def _observed_app(records: list, route):
    return Starlette(routes=[route], middleware=[Middleware(RequestObserver, log_json=False, listeners=[records.append])])


def test_streamed_responses_pass_through_with_the_header():
    async def pieces():
        for i in range(5):
            yield f"data: {i}\n\n"

    async def endpoint(_request):
        return StreamingResponse(pieces(), media_type="text/event-stream")

    records: list = []
    with TestClient(_observed_app(records, Route("/s", endpoint))) as c:
        response = c.get("/s", headers={"X-Request-ID": "stream-1"})
    assert response.text == "".join(f"data: {i}\n\n" for i in range(5))
    assert response.headers["x-request-id"] == "stream-1"
    assert [(r.status, r.route, r.bytes_out) for r in records] == [(200, "/s", len(response.content))]


def test_an_unhandled_error_is_recorded_as_500():
    async def broken(_request):
        raise RuntimeError("boom")

    records: list = []
    with TestClient(_observed_app(records, Route("/boom", broken)), raise_server_exceptions=False) as c:
        assert c.get("/boom").status_code == 500
    assert [(r.status, r.route) for r in records] == [(500, "/boom")]


def test_the_api_key_id_set_by_inner_middleware_is_logged(access_lines):
    class FakeAuth:  # stands in for serve/auth.py, which records the caller's key id in the scope state
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            scope.setdefault("state", {})["api_key_id"] = "key_7"
            await self.app(scope, receive, send)

    async def hello(_request):
        return StreamingResponse(iter([b"hi"]))

    app = Starlette(routes=[Route("/hello", hello)],
                    middleware=[Middleware(RequestObserver, log_json=True), Middleware(FakeAuth)])
    with TestClient(app) as c:
        request_id = c.get("/hello").headers["x-request-id"]
    line = json.loads(access_lines[-1])
    assert (line["api_key_id"], line["request_id"], line["bytes_out"]) == ("key_7", request_id, 2)
