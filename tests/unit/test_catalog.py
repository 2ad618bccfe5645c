import textwrap

import pytest

from modelbay.core import catalog
from modelbay.core.errors import ModelNotFound, ModelUnavailable


def test_every_builtin_spec_is_valid_and_names_its_install_step():
    specs = catalog.list_models()
    assert {"all-minilm-l6-v2", "multilingual-e5-small", "sentiment-vader", "sentiment-snownlp"} <= {s.name for s in specs}
    for spec in specs:
        assert spec.sources and spec.license and spec.origin and spec.languages
        assert spec.install, f"{spec.name}: say how to get it"
        assert all(len(h) == 64 for h in spec.files.values())


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ModelNotFound, match="all-minilm-l6-v2"):
        catalog.get_spec("no-such-model")


def _write_spec(directory, name, sources, task="embeddings", **extra):
    directory.mkdir(parents=True, exist_ok=True)
    body = {"name": name, "task": task, "languages": ["en"], "sources": sources, "license": "MIT",
            "origin": "built by the test", "size_mb": 0.1, "install": "built by the test", **extra}
    import yaml

    (directory / f"{name}.yaml").write_text(yaml.safe_dump(body))


def test_missing_model_fails_fast_saying_what_is_installed_and_how_to_get_it(fresh_settings, tmp_path):
    _write_spec(fresh_settings().home / "catalog", "ghost", ["local:/nonexistent/dir", "hub:nobody/ghost"])
    with pytest.raises(ModelUnavailable) as info:
        catalog.resolve("ghost")
    text = str(info.value)
    assert "ghost" in text and "offline" in text
    assert "all-minilm-l6-v2" in text  # installed alternatives for the same task
    assert "built by the test" in text  # how to get it


def test_resolution_prefers_models_dir_then_sources_in_order(fresh_settings, tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _write_spec(fresh_settings().home / "catalog", "ordered", [f"local:{first}", f"local:{second}"])
    assert catalog.resolve("ordered").path == first
    override = tmp_path / "override"
    (override / "ordered").mkdir(parents=True)
    monkeypatch.setenv("MODELBAY_MODELS_DIR", str(override))
    fresh_settings.cache_clear()
    assert catalog.resolve("ordered").path == override / "ordered"


def test_invalid_spec_file_names_the_file(fresh_settings):
    directory = fresh_settings().home / "catalog"
    directory.mkdir(parents=True)
    (directory / "bad.yaml").write_text(textwrap.dedent("""
        name: bad
        task: embeddings
    """))
    with pytest.raises(ValueError, match="bad.yaml"):
        catalog.list_models()


def test_verify_detects_a_changed_file(fresh_settings, tmp_path):
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "weights.bin").write_bytes(b"hello")
    good = catalog.sha256_file(model_dir / "weights.bin")
    _write_spec(fresh_settings().home / "catalog", "hashed", [f"local:{model_dir}"],
                files={"weights.bin": good, "gone.bin": "0" * 64})
    assert catalog.verify(catalog.resolve("hashed")) == {"weights.bin": "ok", "gone.bin": "missing"}
    (model_dir / "weights.bin").write_bytes(b"tampered")
    assert catalog.verify(catalog.resolve("hashed"))["weights.bin"] == "mismatch"
