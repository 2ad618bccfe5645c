"""Property-based fuzzing of the server's own OpenAPI spec: no generated request may cause a 5xx.

Runs in-process against the real app and real models. Chat and speech are left
out: a fuzzer happily asks for 4,096 new tokens or long audio, which is valid and
merely slow; their routes are generated and validated by the same code as the
fuzzed ones, and their own tests cover their bad inputs.
"""

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings

from modelbay.serve.app import create_app
from modelbay.serve.config import ServerConfig

app = create_app(ServerConfig())
schema = (
    schemathesis.openapi.from_asgi("/openapi.json", app)
    .exclude(path_regex=r"^/v1/(tasks/(chat|speech-recognition)|chat/completions|audio/)")
)


@pytest.fixture(scope="module", autouse=True)
def _unload_the_models_afterwards():
    """``app`` lives as long as this module object (the whole session): its models need not."""
    yield
    pool = app.state.ctx.pool
    for key in pool.status():
        pool.unload(key)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_the_schema_allows_causes_a_server_error(case):
    # the question is the status, not the speed: a valid request may load a model cold (the chat LLM behind
    # abstractive summaries) or wait for the CPU behind a slow one; 60 s still catches a hung request
    response = case.call(timeout=60)
    assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
