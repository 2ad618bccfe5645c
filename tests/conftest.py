"""Shared fixtures. Tests use the real default models (they ship offline in packages)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MODELBAY_OFFLINE", "1")
# In-process clients send Host "testserver" (Starlette's TestClient, schemathesis) or "test" (httpx base_url in
# test_batching); name them as a deployment names its hosts, so the DNS-rebinding Host check lets them through.
# Tests of that check pass allowed_hosts=[] themselves.
os.environ.setdefault("MODELBAY_SERVE_ALLOWED_HOSTS", "testserver,test")


@pytest.fixture
def fresh_settings(monkeypatch, tmp_path):
    """Point MODELBAY_HOME at a temp dir and re-read settings; restores them afterwards."""
    from modelbay.core.settings import get_settings

    monkeypatch.setenv("MODELBAY_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield get_settings
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def sentiment_app():
    """One in-process app for the server tests (models load lazily, once)."""
    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        yield client
