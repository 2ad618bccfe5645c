"""The HTTP server in-process: routes generated from the registry, errors as 4xx JSON, keeps serving."""

import base64

import pytest

pytestmark = pytest.mark.models("sentiment", "embeddings")


def test_health_and_readiness(sentiment_app):
    assert sentiment_app.get("/healthz").json()["status"] == "ok"
    assert sentiment_app.get("/readyz").status_code == 200


def test_tasks_and_models_are_listed(sentiment_app):
    tasks = {t["name"]: t for t in sentiment_app.get("/v1/tasks").json()["tasks"]}
    assert "sentiment-analysis" in tasks["sentiment"]["aliases"]
    models = sentiment_app.get("/v1/models").json()
    assert models["object"] == "list"
    row = next(m for m in models["data"] if m["id"] == "all-minilm-l6-v2")
    assert row["installed"] is True and row["task"] == "embeddings"


def test_openapi_has_a_typed_route_per_task(sentiment_app):
    spec = sentiment_app.get("/openapi.json").json()
    for name in ("sentiment", "embeddings", "text-classification"):
        assert f"/v1/tasks/{name}" in spec["paths"]


def test_sentiment_in_english_and_chinese(sentiment_app):
    response = sentiment_app.post("/v1/tasks/sentiment", json={"inputs": ["great!", "太差了"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["task"] == "sentiment"
    assert [o["label"] for o in body["outputs"]] == ["positive", "negative"]


def test_alias_route_and_explicit_model(sentiment_app):
    response = sentiment_app.post("/v1/tasks/sentiment-analysis",
                                  json={"inputs": "I love it", "model": "sentiment-vader"})
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "sentiment-vader"
    assert response.json()["outputs"][0]["label"] == "positive"


def test_embeddings_route(sentiment_app):
    response = sentiment_app.post("/v1/tasks/embeddings", json={"inputs": ["refund policy", {"text": "money back"}]})
    assert response.status_code == 200, response.text
    outputs = response.json()["outputs"]
    assert len(outputs) == 2 and all(o["dim"] == 384 for o in outputs)


@pytest.mark.parametrize(
    "body, status, needle",
    [
        ({"inputs": []}, 422, "empty"),
        ({"inputs": [3]}, 422, "inputs"),
        ({"inputs": [""]}, 422, "at least 1 character"),
        ({}, 422, "inputs"),
        ({"inputs": ["ok"], "extra": 1}, 422, "extra: unknown field"),  # a misspelt key must not be ignored
        ({"inputs": [{"text": "ok", "bogus": 1}]}, 422, "bogus"),
        ({"inputs": ["ok"], "model": "no-such-model"}, 404, "no-such-model"),
        ({"inputs": ["ok"], "model": "all-minilm-l6-v2"}, 422, "cannot run task"),
        ({"inputs": ["ok"], "stream": True}, 422, "does not stream"),
    ],
)
def test_bad_requests_get_a_4xx_that_names_the_problem(sentiment_app, body, status, needle):
    response = sentiment_app.post("/v1/tasks/sentiment", json={"model": "sentiment-vader", **body}
                                  if "model" not in body and body else body)
    assert response.status_code == status, response.text
    if needle:
        assert needle in response.json()["error"]["message"]


@pytest.mark.parametrize("inputs, message", [
    ({"text": ""}, "inputs.text: String should have at least 1 character"),
    ([{"text": "ok"}, {"text": "ok", "bogus": 1}], "inputs[1].bogus: unknown field; see the schema at GET /docs"),
    (3, "inputs: expected an object or a string, or a list of them"),
    (["ok", 3], "inputs[1]: expected an object or a string"),
])
def test_a_bad_item_is_named_alone_not_beside_every_shape_inputs_could_take(sentiment_app, inputs, message):
    """Before, a plain union answered {"text": ""} with three errors: "inputs.list[…]: Input should be a valid
    array; inputs.str: …; inputs.SentimentInput.text: …"."""
    response = sentiment_app.post("/v1/tasks/sentiment", json={"model": "sentiment-vader", "inputs": inputs})
    assert response.status_code == 422 and response.json()["error"]["message"] == message


def test_too_many_items_and_malformed_json(sentiment_app):
    from modelbay.core.settings import get_settings

    too_many = ["x"] * (get_settings().limits.max_items + 1)
    response = sentiment_app.post("/v1/tasks/sentiment", json={"inputs": too_many, "model": "sentiment-vader"})
    assert response.status_code == 422 and "limit" in response.json()["error"]["message"]
    response = sentiment_app.post("/v1/tasks/sentiment", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_oversized_body_is_refused_with_413(sentiment_app):
    from modelbay.core.settings import get_settings

    big = "a" * (get_settings().limits.max_body_bytes + 10)
    response = sentiment_app.post("/v1/tasks/sentiment", content=big.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "limit" in response.json()["error"]["message"]


def test_unknown_task_is_404_listing_valid_tasks(sentiment_app):
    response = sentiment_app.post("/v1/tasks/sentimnt", json={"inputs": ["x"]})
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert "sentimnt" in message and "sentiment" in message and "embeddings" in message


def test_undecodable_media_is_a_4xx_and_the_server_keeps_serving(sentiment_app):
    from modelbay.core.registry import all_tasks

    media_tasks = [t for t in all_tasks() if t.media_fields]
    for cls in media_tasks:
        field = next(iter(cls.media_fields))
        bad = base64.b64encode(b"this is not a media file").decode()
        response = sentiment_app.post(f"/v1/tasks/{cls.name}", json={"inputs": [{field: bad}]})
        assert response.status_code == 422, (cls.name, response.text)
        assert field in response.json()["error"]["message"]
        response = sentiment_app.post(f"/v1/tasks/{cls.name}", json={"inputs": [{field: "%%%not-base64"}]})
        assert response.status_code == 422, (cls.name, response.text)
    assert sentiment_app.post("/v1/tasks/sentiment", json={"inputs": ["still here"], "model": "sentiment-vader"}).status_code == 200


def test_preloaded_models_show_as_loaded_once_ready():
    import time

    from fastapi.testclient import TestClient

    from modelbay.serve.app import ServerConfig, create_app

    config = ServerConfig(preload=["sentiment=sentiment-vader", "no-such-task"])
    with TestClient(create_app(config)) as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/readyz").status_code == 200  # a bad preload entry is logged, not fatal
        rows = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
        assert rows["sentiment-vader"]["loaded"] is True
        assert rows["sentiment-snownlp"]["loaded"] is False


def test_a_plain_curl_body_without_json_content_type_is_read_as_json(sentiment_app):
    # `curl -d '{...}'` sends application/x-www-form-urlencoded
    response = sentiment_app.post("/v1/tasks/sentiment", content=b'{"inputs": ["I love it"], "model": "sentiment-vader"}',
                                  headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["label"] == "positive"


def test_a_chunked_body_over_the_limit_gets_413_too(monkeypatch):
    """No Content-Length: the limit trips while reading, and the answer is still 413, not a parse error."""
    from fastapi.testclient import TestClient

    from modelbay.core.settings import get_settings
    from modelbay.serve.app import create_app

    monkeypatch.setenv("MODELBAY_LIMIT_MAX_BODY_BYTES", "1000")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as client:
            def chunks():
                for _ in range(20):
                    yield b'{"inputs": ["' + b"a" * 100 + b'"]}'
            response = client.post("/v1/tasks/sentiment", content=chunks(), headers={"content-type": "application/json"})
            assert response.status_code == 413, response.text
            assert client.get("/healthz").status_code == 200
    finally:
        get_settings.cache_clear()
