"""Fuzzing the generation routes (chat, speech) with capped budgets: no generated request may cause a 5xx.

A fuzzer happily asks for thousands of new tokens; valid, merely slow. The server's
own limits cap that (``MODELBAY_LIMIT_MAX_NEW_TOKENS``, ``MODELBAY_LIMIT_MAX_ITEMS``,
``MODELBAY_LIMIT_MAX_AUDIO_S``), so here they are set low: asks beyond them must get
a 4xx, and everything within them must be answered.
"""

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings

pytestmark = [pytest.mark.slow, pytest.mark.models("chat", "speech-recognition")]

ROUTES = r"^/v1/(tasks/(chat|speech-recognition)|chat/completions|audio/transcriptions)$"


@pytest.fixture(scope="module")
def generation_schema():
    from modelbay.core.settings import get_settings
    from modelbay.serve.app import create_app
    from modelbay.serve.config import ServerConfig

    patch = pytest.MonkeyPatch()
    for name, value in (("MAX_NEW_TOKENS", "6"), ("MAX_ITEMS", "3"), ("MAX_AUDIO_S", "5")):
        patch.setenv(f"MODELBAY_LIMIT_{name}", value)
    get_settings.cache_clear()
    try:
        app = create_app(ServerConfig())
        yield schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=ROUTES)
    finally:
        patch.undo()
        get_settings.cache_clear()


def test_generation_routes_never_answer_5xx(generation_schema):
    # the schema is built inside a fixture (the limits must be set first), so each operation's
    # strategy is driven here rather than by schemathesis' pytest parametrisation
    operations = [result.ok() for result in generation_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/tasks/chat", "/v1/chat/completions", "/v1/audio/transcriptions"}
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, str(case.body)[:300], response.text[:500])

        check()


def test_new_token_limit_is_a_clear_4xx(monkeypatch):
    from fastapi.testclient import TestClient

    from modelbay.core.settings import get_settings
    from modelbay.serve.app import create_app

    monkeypatch.setenv("MODELBAY_LIMIT_MAX_NEW_TOKENS", "6")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as client:
            r = client.post("/v1/tasks/chat", json={"inputs": {"prompt": "hi", "max_new_tokens": 7}})
            assert r.status_code == 422
            assert "MODELBAY_LIMIT_MAX_NEW_TOKENS" in r.json()["error"]["message"]
            r = client.post("/v1/chat/completions", json={"model": "smollm2-135m-instruct", "max_tokens": 100,
                                                          "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 422, r.text
    finally:
        get_settings.cache_clear()
