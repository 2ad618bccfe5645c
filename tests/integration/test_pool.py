"""Model lifecycle: lazy load, LRU unload under a memory budget, load failures kept per model."""

import pytest

from modelbay.core.errors import ModelbayError
from modelbay.serve.pool import ModelPool, rss_bytes


def test_rss_is_measured():
    assert rss_bytes() > 10 * 1024 * 1024


def test_over_budget_the_least_recently_used_idle_model_is_unloaded_and_reloads_on_demand():
    pool = ModelPool(memory_budget_bytes=1)  # always over budget: every load evicts the others
    pool.get("sentiment", "sentiment-vader")
    pool.get("sentiment", "sentiment-snownlp")
    status = pool.status()
    assert status[("sentiment", "sentiment-vader")].task is None
    assert status[("sentiment", "sentiment-vader")].unloads == 1
    assert status[("sentiment", "sentiment-snownlp")].task is not None  # the one just loaded stays
    task, _ = pool.get("sentiment", "sentiment-vader")
    assert task([task.coerce("I love it")])[0].label == "positive"
    assert pool.status()[("sentiment", "sentiment-snownlp")].task is None


def test_a_model_in_use_is_not_unloaded():
    pool = ModelPool(memory_budget_bytes=1)
    _, slot = pool.get("sentiment", "sentiment-vader")
    with slot.lock:  # a forward pass is running
        assert pool.unload(("sentiment", "sentiment-vader")) is False
    assert pool.unload(("sentiment", "sentiment-vader")) is True


def test_without_a_budget_nothing_is_unloaded():
    pool = ModelPool()
    pool.get("sentiment", "sentiment-vader")
    pool.get("sentiment", "sentiment-snownlp")
    assert all(s.task is not None for s in pool.status().values())


def test_a_load_failure_is_recorded_and_does_not_affect_other_models(fresh_settings):
    import yaml

    catalog = fresh_settings().home / "catalog"
    catalog.mkdir(parents=True)
    (catalog / "broken.yaml").write_text(yaml.safe_dump({
        "name": "broken", "task": "sentiment", "languages": ["en"], "sources": [f"local:{catalog}"],
        "license": "MIT", "origin": "test", "size_mb": 0, "install": "test",
        "options": {"backend": "embedding-head"},  # no head.json there: loading fails
    }))
    pool = ModelPool()
    with pytest.raises(ModelbayError):
        pool.get("sentiment", "broken")
    assert pool.status()[("sentiment", "broken")].error
    task, _ = pool.get("sentiment", "sentiment-vader")
    assert task([task.coerce("great")])[0].label == "positive"


def test_unknown_model_names_leave_no_record_behind():
    from modelbay.core.errors import ModelNotFound

    pool = ModelPool()
    for i in range(20):
        with pytest.raises(ModelNotFound):
            pool.get("sentiment", f"made-up-{i}")
    assert pool.status() == {}
