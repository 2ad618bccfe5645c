"""Start the real `modelbay serve` as a subprocess and talk to it over HTTP."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    exe = Path(sys.executable).with_name("modelbay")
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--preload", "sentiment", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "MODELBAY_OFFLINE": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    ready = False
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                ready = True
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    if not ready:
        proc.kill()
        pytest.fail(f"server did not become ready:\n{proc.stdout.read()[-3000:]}")
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


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
