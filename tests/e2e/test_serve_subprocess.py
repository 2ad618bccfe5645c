"""Start the real `modelbay serve` as a subprocess and talk to it over HTTP (fixture: conftest.py)."""

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_sentiment_over_http(server):
    response = httpx.post(f"{server}/v1/tasks/sentiment", json={"inputs": ["great!", "太差了"]}, timeout=60)
    assert response.status_code == 200, response.text
    assert [o["label"] for o in response.json()["outputs"]] == ["positive", "negative"]


def test_bad_input_then_good_input(server):
    bad = httpx.post(f"{server}/v1/tasks/sentiment", content=b"\xff\xfe garbage", timeout=30,
                     headers={"content-type": "application/json"})
    assert bad.status_code == 422
    unknown = httpx.post(f"{server}/v1/tasks/nope", json={"inputs": ["x"]}, timeout=30)
    assert unknown.status_code == 404 and "sentiment" in unknown.json()["error"]["message"]
    good = httpx.post(f"{server}/v1/tasks/sentiment", json={"inputs": ["I love this shop"]}, timeout=60)
    assert good.status_code == 200 and good.json()["outputs"][0]["label"] == "positive"


def test_docs_and_openapi_are_served(server):
    assert httpx.get(f"{server}/docs", timeout=10).status_code == 200
    assert "/v1/tasks/sentiment" in httpx.get(f"{server}/openapi.json", timeout=10).json()["paths"]


def test_sigterm_drains_the_request_in_flight(spawn_server):
    """SIGTERM while a long request runs: that request still gets its full answer, then the server exits."""
    import signal
    import threading
    import time

    texts = [f"ticket {i}: " + "the parcel arrived late and the box was crushed, please refund me " * 12
             for i in range(256)]
    with spawn_server("embeddings") as (base, proc, _log):
        result: dict = {}

        def call() -> None:
            result["response"] = httpx.post(f"{base}/v1/tasks/embeddings", json={"inputs": texts}, timeout=120)

        caller = threading.Thread(target=call)
        caller.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the server holds the request (the scrape is the other one)
            metrics = httpx.get(f"{base}/metrics", timeout=10).text
            if 'modelbay_inflight_requests 2.0' in metrics:
                break
            time.sleep(0.05)
        assert "response" not in result, "the request finished before the signal; make it longer"
        proc.send_signal(signal.SIGTERM)
        caller.join(timeout=120)
        # uvicorn re-raises the signal once it has shut down gracefully, so the exit status says SIGTERM
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
        response = result["response"]
        assert response.status_code == 200, response.text
        assert len(response.json()["outputs"]) == 256
        with pytest.raises(httpx.ConnectError):  # and it no longer takes requests
            httpx.get(f"{base}/healthz", timeout=5)
