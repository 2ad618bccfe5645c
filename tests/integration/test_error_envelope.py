"""Every error the server answers uses the documented envelope, and misspelt fields are refused, not ignored.

In process, without the lifespan: nothing here loads a model (an unknown model name answers 404
after the body has validated, which shows the body was accepted).
"""

from __future__ import annotations

import typing

import pytest
from fastapi.testclient import TestClient

from modelbay.serve.app import create_app


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), base_url="http://127.0.0.1:8000")


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


def test_an_unknown_top_level_field_is_refused_naming_it(client):
    response = client.post("/v1/tasks/sentiment", json={"inputs": ["great!"], "modle": "sentiment-vader"})
    assert response.status_code == 422
    message = error_of(response)["message"]
    assert message.startswith("modle: unknown field") and "inputs, model, stream" in message


def test_an_unknown_item_field_is_still_refused(client):
    response = client.post("/v1/tasks/sentiment", json={"inputs": [{"text": "great!", "lang": "en"}]})
    assert response.status_code == 422 and "lang: unknown field" in error_of(response)["message"]


def test_an_unknown_path_is_a_404_in_the_envelope(client):
    response = client.get("/v1/taks")
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found" and "GET /v1/taks" in error["message"] and "/docs" in error["hint"]


def test_a_wrong_method_is_a_405_in_the_envelope_naming_the_right_one(client):
    response = client.get("/v1/tasks/sentiment")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    error = error_of(response)
    assert error["code"] == "method_not_allowed" and "takes POST" in error["message"]


@pytest.mark.parametrize("route, body, typo", [
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}], "max_token": 4}, "max_token"),
    ("/v1/embeddings", {"input": "refund policy", "dimension": 384}, "dimension"),
])
def test_openai_routes_refuse_fields_openai_does_not_define(client, route, body, typo):
    response = client.post(route, json={"model": "no-such-model", **body})
    assert response.status_code == 422 and error_of(response)["message"].startswith(f"{typo}: unknown field")


@pytest.mark.parametrize("route, body", [
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}], "user": "u1", "presence_penalty": 0,
                              "frequency_penalty": 0, "logit_bias": {}, "store": False, "metadata": {"a": "b"},
                              "parallel_tool_calls": False, "service_tier": "auto", "reasoning_effort": "low"}),
    ("/v1/embeddings", {"input": "refund policy", "user": "u1"}),
])
def test_openai_routes_accept_and_ignore_fields_openai_defines(client, route, body):
    response = client.post(route, json={"model": "no-such-model", **body})
    assert response.status_code == 404, response.text  # validated; then the model name is what is wrong
    assert error_of(response)["code"] == "model_not_found"


def _openai_params(typed_dict) -> set[str]:
    return set(typing.get_type_hints(typed_dict))


def test_every_field_the_pinned_openai_client_can_send_is_accepted():
    """The official client sends only what the caller passes, but it may be any of these: none may be a 422."""
    from openai.types import embedding_create_params
    from openai.types.chat import completion_create_params

    from modelbay.serve.openai.chat import ChatCompletionRequest
    from modelbay.serve.openai.embeddings import EmbeddingsRequest

    for request, params in ((ChatCompletionRequest, completion_create_params.CompletionCreateParamsBase),
                            (EmbeddingsRequest, embedding_create_params.EmbeddingCreateParams)):
        known = set(request.model_fields) | request.OPENAI_IGNORED
        sent = _openai_params(params) | ({"stream"} if request is ChatCompletionRequest else set())
        assert sent <= known, f"{request.__name__} would refuse {sorted(sent - known)}: add them to OPENAI_IGNORED"
