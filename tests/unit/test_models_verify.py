"""`modelbay models verify`: ok, a real mismatch (exit 1), and models that record no hashes (said so, exit 0)."""

import hashlib
import json

import pytest
import yaml
from typer.testing import CliRunner

from modelbay.cli import app

WEIGHTS = b"\x00\x01 weights of a tiny model " * 64


@pytest.fixture
def user_models(fresh_settings, tmp_path):
    """A user catalog with `hashed` (one file and its sha256) and `unhashed` (a spec that lists no files)."""
    files = tmp_path / "hashed"
    files.mkdir()
    (files / "weights.bin").write_bytes(WEIGHTS)
    common = {"task": "embeddings", "languages": ["en"], "license": "MIT", "origin": "test", "size_mb": 0.01,
              "install": "pip install hashed-model"}
    catalog = fresh_settings().home / "catalog"
    catalog.mkdir(parents=True)
    (catalog / "hashed.yaml").write_text(yaml.safe_dump({
        **common, "name": "hashed", "sources": [f"local:{files}"],
        "files": {"weights.bin": hashlib.sha256(WEIGHTS).hexdigest()},
    }))
    (catalog / "unhashed.yaml").write_text(yaml.safe_dump({**common, "name": "unhashed", "sources": [f"local:{files}"]}))
    return files


def verify(*args: str):
    return CliRunner().invoke(app, ["models", "verify", *args])


def test_a_spec_without_hashes_says_so_and_passes(user_models):
    result = verify("hashed", "unhashed", "ner-default")
    assert result.exit_code == 0, result.output
    assert "FAILED" not in result.output
    assert "unhashed: no hashes recorded" in result.output
    assert "ner-default: no hashes recorded" in result.output  # a router: its models are checked on their own rows
    assert "ok      hashed (1 files)" in result.output


def test_a_changed_file_fails_with_exit_1_naming_the_file(user_models):
    (user_models / "weights.bin").write_bytes(WEIGHTS + b"tampered")
    result = verify("hashed", "unhashed")
    assert result.exit_code == 1, result.output
    assert "FAILED  hashed: weights.bin mismatch" in result.output
    assert "pip install hashed-model" in result.output  # how to get good files again


def test_a_missing_file_fails(user_models):
    (user_models / "weights.bin").unlink()
    result = verify("hashed")
    assert result.exit_code == 1 and "weights.bin missing" in result.output


def test_json_rows_carry_a_status(user_models):
    result = verify("hashed", "unhashed", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["hashed"]["status"] == "ok" and rows["hashed"]["verified"] is True
    assert rows["unhashed"]["status"] == "no hashes recorded" and rows["unhashed"]["verified"] is None


def test_an_unknown_name_is_an_error_not_a_traceback(user_models):
    result = verify("no-such-model")
    assert result.exit_code == 2
    assert "no model named 'no-such-model'" in result.output
