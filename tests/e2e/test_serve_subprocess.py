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
