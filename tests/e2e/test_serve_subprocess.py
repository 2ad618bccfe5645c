"""Start the real `modelbay serve` as a subprocess and talk to it over HTTP (fixture: conftest.py)."""

import httpx
import pytest

pytestmark = pytest.mark.e2e

#: the model of gated_task.py's task: options only, no files (gated_task.py itself is imported by the server only)
GATED_SPEC = """\
name: gated-echo
task: gated-echo
languages: [en]
sources: ["package:modelbay"]
license: Apache-2.0
origin: tests/e2e/gated_task.py
size_mb: 0.0
"""


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


def test_sigterm_drains_the_request_in_flight(spawn_server, tmp_path):
    """SIGTERM while a request is inside its forward pass: the server stops taking connections, yet that
    request still gets its answer, and then the server exits.

    The pass waits for the test's go-ahead (``gated_task.py``), so the request is certainly in flight when
    the signal lands and still in flight once the server has begun shutting down, however fast or slow
    the machine is. Timeouts here only bound a failure; no outcome depends on one.
    """
    import json
    import signal
    import socket
    import threading

    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "gated-echo.yaml").write_text(GATED_SPEC)
    with socket.create_server(("127.0.0.1", 0)) as gate:
        gate.settimeout(120)
        env = {"MODELBAY_TEST_GATE": f"127.0.0.1:{gate.getsockname()[1]}",
               "MODELBAY_CATALOG_PATH": json.dumps([str(tmp_path / "catalog")])}
        with spawn_server("gated-echo", env=env, plugins=("gated_task",)) as (base, proc, _log):
            result: dict = {}

            def call() -> None:
                result["response"] = httpx.post(f"{base}/v1/tasks/gated-echo", json={"inputs": ["drain me"]}, timeout=120)

            caller = threading.Thread(target=call)
            caller.start()
            conn, _ = gate.accept()  # the request is inside the model now
            with conn:
                assert conn.recv(16) == b"started"
                proc.send_signal(signal.SIGTERM)
                _wait_until_it_refuses_connections(base)  # shutting down...
                assert "response" not in result  # ...while the request is still waiting for the gate
                conn.sendall(b"go")
            caller.join(timeout=120)
            # uvicorn re-raises the signal once it has shut down gracefully, so the exit status says SIGTERM
            assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
            with pytest.raises(httpx.ConnectError):  # gone
                httpx.get(f"{base}/healthz", timeout=5)
    response = result["response"]
    assert response.status_code == 200, response.text
    assert response.json()["outputs"] == [{"text": "drain me"}]


def _wait_until_it_refuses_connections(base: str, within_s: float = 60) -> None:
    import time

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=5)
        except httpx.TransportError:  # refused, or dropped unanswered: it takes no new requests
            return
        time.sleep(0.05)  # polls a state; the test's outcome never depends on this pause
    pytest.fail(f"the server still took connections {within_s:g} s after SIGTERM")
