"""Shared fixtures. Tests use the real default models (they ship offline in packages).

Loaded models are shared by the whole session and released once no later module needs them
(``model_cache.py``: the ``loaded_task`` fixture, the ``models`` marker); ``pytest --memory-report
FILE`` (``memory_report.py``) writes each module's time and peak memory.
"""

from __future__ import annotations

import os

import pytest
from memory_report import pytest_addoption, pytest_configure, pytest_runtest_setup, pytest_sessionfinish  # noqa: F401
from model_cache import ModelCache, declared

os.environ.setdefault("MODELBAY_OFFLINE", "1")
# In-process clients send Host "testserver" (Starlette's TestClient, schemathesis) or "test" (httpx base_url in
# test_batching); name them as a deployment names its hosts, so the DNS-rebinding Host check lets them through.
# Tests of that check pass allowed_hosts=[] themselves.
os.environ.setdefault("MODELBAY_SERVE_ALLOWED_HOSTS", "testserver,test")

_MODELS = ModelCache()


@pytest.fixture
def fresh_settings(monkeypatch, tmp_path):
    """Point MODELBAY_HOME at a temp dir and re-read settings; restores them afterwards."""
    from modelbay.core.settings import get_settings

    monkeypatch.setenv("MODELBAY_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield get_settings
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres_url():
    """The URL of a real PostgreSQL server started for this test session (``postgres_server.py``)."""
    from postgres_server import postgres_cluster

    with postgres_cluster() as url:
        yield url


@pytest.fixture(scope="session")
def loaded_task() -> ModelCache:
    """``loaded_task(task, model=None)``: a loaded task shared by the session; declare it with ``pytest.mark.models``."""
    return _MODELS


@pytest.fixture(scope="session", autouse=True)
def _servers_share_loaded_models():
    """In-process servers (``create_app`` in a test) load catalog models from the session's cache too."""
    from modelbay.serve import pool

    patch = pytest.MonkeyPatch()
    patch.setattr(pool, "load_task", _MODELS.for_pool)
    yield
    patch.undo()


@pytest.fixture(scope="module")
def sentiment_app():
    """An in-process app for the server tests of one module (its models come from the session's cache)."""
    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        yield client


def _module(item) -> str:
    return item.nodeid.split("::", 1)[0]


def pytest_collection_finish(session):
    """Tell the cache which models each module, in run order, declares (``pytest.mark.models``)."""
    segments: list[set] = []
    previous = None
    for item in session.items:
        if _module(item) != previous:
            segments.append(set())
            previous = _module(item)
        for mark in item.iter_markers("models"):
            segments[-1].update(declared(arg) for arg in mark.args)
    _MODELS.plan(segments)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield  # the module's own fixtures are finalised by now
    if nextitem is None or _module(nextitem) != _module(item):
        _MODELS.module_done()
