"""Models trained before the P5 move (commit 7c65b24) load and answer the same after it.

tests/fixtures/pre_p5_models/ holds one tiny model of each trainable format, written by the old code
(``build.py`` there says how), and what the old code answered for a few inputs. Each is published
into a fresh artifact store, as a user's store from before the upgrade holds it, and run by name.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pre_p5_models"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def store(fresh_settings, monkeypatch):
    monkeypatch.setenv("MODELBAY_PRECISION", "float32")  # as the fixtures were recorded (see build.py)
    fresh_settings.cache_clear()
    from modelbay.core.store import ArtifactStore

    return ArtifactStore()


def test_every_trainable_format_has_a_fixture():
    """Formats written by the trainers that existed before the move; a new one needs a fixture of its own."""
    formats = {json.loads((FIXTURES / name / "model_card.json").read_text())["options"]["backend"] for name in EXPECTED}
    assert formats == {"lightgbm", "embedding-head", "transfer-head", "crf"}, formats
    assert {case["task"] for case in EXPECTED.values()} == {
        "tabular-classification", "tabular-regression", "text-classification", "image-classification", "ner"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_model_trained_before_the_move_answers_as_it_did(store, name):
    from modelbay.core.loading import load_task

    case = EXPECTED[name]
    with store.new_version(name, case["task"]) as staged:
        shutil.copytree(FIXTURES / name, staged.path, dirs_exist_ok=True)
    model_files = {k: v for k, v in _digests(FIXTURES / name).items() if k != "model_card.json"}

    task = load_task(case["task"], f"{name}@1")
    outputs = task([task.coerce(_readable(item)) for item in case["inputs"]])

    _assert_same([o.model_dump(mode="json") for o in outputs], case["outputs"])
    published = store.get(f"{name}@1").path
    assert {k: v for k, v in _digests(published).items() if k != "model_card.json"} == model_files  # read, not rewritten


def _readable(item: dict) -> dict:
    return {k: (FIXTURES / v).read_bytes() if k == "image" else v for k, v in item.items()}


def _assert_same(got, want, where="outputs", tol=1e-5):
    """Labels, entities and keys exactly; probabilities and values to float32 rounding."""
    if isinstance(want, float) and isinstance(got, (int, float)):
        assert abs(got - want) <= tol * max(1.0, abs(want)), (where, got, want)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), (where, got, want)
        for key in want:
            _assert_same(got[key], want[key], f"{where}.{key}", tol)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, got, want)
        for i, (a, b) in enumerate(zip(got, want)):
            _assert_same(a, b, f"{where}[{i}]", tol)
    else:
        assert got == want, (where, got, want)
