"""The session's model cache (tests/model_cache.py): one load per model, released when no later module needs it."""

from __future__ import annotations

import json

import pytest
from model_cache import ModelCache

SENTIMENT = ("sentiment", "sentiment-e5-mlp")
VADER = ("sentiment", "sentiment-vader")


@pytest.fixture
def loads(monkeypatch):
    """Replace loading with a counter: each load returns a new object, so identity tells loads apart."""
    calls: list[tuple] = []

    def fake_load_task(task, model=None, device=None):
        calls.append((task, model, device))
        return object()

    monkeypatch.setattr("modelbay.core.loading.load_task", fake_load_task)
    return calls


def test_a_model_loads_once_whatever_its_spelling(loads):
    cache = ModelCache()
    first = cache("sentiment")
    assert cache("sentiment-analysis") is first and cache("sentiment", "sentiment-e5-mlp") is first
    assert cache.for_pool("sentiment", "sentiment-e5-mlp") is first  # what in-process servers get
    assert cache("sentiment", "sentiment-vader") is not first
    assert len(loads) == 2


def test_a_model_stays_while_a_later_module_declares_it_and_goes_after(loads):
    cache = ModelCache()
    cache.plan([{SENTIMENT}, set(), {SENTIMENT}])
    first = cache("sentiment")
    cache("sentiment", "sentiment-vader")  # used, never declared
    cache.module_done()  # module 0: vader goes, the sentiment model stays for module 2
    assert cache("sentiment") is first and cache.releases == 1
    cache.module_done()  # module 1
    assert cache("sentiment") is first
    cache.module_done()  # module 2, the last to declare it
    assert cache.releases == 2 and cache("sentiment") is not first
    assert len(loads) == 3


def test_release_lets_a_model_go_early_unless_a_later_module_declares_it(loads):
    cache = ModelCache()
    cache.plan([{SENTIMENT, VADER}, {VADER}])
    sentiment, vader = cache("sentiment"), cache("sentiment", "sentiment-vader")
    cache.release("sentiment")
    cache.release("sentiment", "sentiment-vader")  # module 1 still needs it
    assert cache("sentiment") is not sentiment and cache("sentiment", "sentiment-vader") is vader


def test_settings_that_change_a_load_are_part_of_the_key(loads, monkeypatch, fresh_settings):
    cache = ModelCache()
    first = cache("embeddings")
    monkeypatch.setenv("MODELBAY_PRECISION", "bfloat16")
    fresh_settings.cache_clear()
    assert cache("embeddings") is not first
    assert cache.for_pool("embeddings", None, "cpu") is not cache.for_pool("embeddings", None, "cpu")  # a device: loaded


def test_trained_models_are_never_shared(loads, monkeypatch, fresh_settings, tmp_path):
    spec = {"name": "mine", "task": "sentiment", "languages": ["en"], "sources": ["artifact:mine@1"],
            "license": "x", "origin": "x", "size_mb": 0}
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "mine.yaml").write_text(json.dumps(spec))  # JSON is YAML
    monkeypatch.setenv("MODELBAY_CATALOG_PATH", json.dumps([str(tmp_path / "catalog")]))
    fresh_settings.cache_clear()
    cache = ModelCache()
    assert cache("sentiment", "mine") is not cache("sentiment", "mine")
    assert len(loads) == 2
