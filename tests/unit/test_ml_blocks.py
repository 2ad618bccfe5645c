"""The shared training blocks in modelbay.ml: the one splitter, the one data fingerprint, calibration, the model writer."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.calibration import expected_calibration_error, fit_temperature, reliability
from modelbay.ml.fingerprint import data_fingerprint, file_sha256, fingerprint, records_fingerprint
from modelbay.ml.model_dir import atomic_model_dir, utc_timestamp, write_card, write_json
from modelbay.ml.splits import split_card, stratified_parts, stratified_split


def _labels():
    return ["a"] * 40 + ["b"] * 20 + ["c"] * 5 + ["d"]


def test_split_is_seeded_complete_and_stratified():
    labels = _labels()
    train, val = stratified_split(labels, 0.2, seed=4)
    assert sorted(train + val) == list(range(len(labels))) and not set(train) & set(val)
    assert (train, val) == stratified_split(labels, 0.2, seed=4) != stratified_split(labels, 0.2, seed=5)
    assert train == sorted(train) and val == sorted(val)
    per_class = {c: sum(labels[i] == c for i in val) for c in "abcd"}
    assert per_class == {"a": 8, "b": 4, "c": 1, "d": 0}  # 20% of each; the single "d" stays in train


def test_every_class_of_two_gives_validation_one_and_keeps_one():
    labels = ["a", "a", "b", "b", "b"]
    train, val = stratified_split(labels, 0.01, seed=0)
    assert sorted(labels[i] for i in val) == ["a", "b"] and sorted(labels[i] for i in train) == ["a", "b", "b"]
    train, val = stratified_split(labels, 0.9, seed=0)
    assert {labels[i] for i in train} == {"a", "b"}


def test_groups_are_stratified_too_and_each_class_still_validated():
    labels = ["pos"] * 20 + ["neg"] * 20 + ["pos", "pos", "neg"]
    groups = ["web"] * 10 + ["app"] * 10 + ["web"] * 10 + ["app"] * 10 + ["mail"] * 3
    train, val = stratified_split(labels, 0.2, seed=0, groups=groups)
    seen = sorted((labels[i], groups[i]) for i in val)
    assert seen == sorted([("pos", "web")] * 2 + [("pos", "app")] * 2 + [("neg", "web")] * 2 + [("neg", "app")] * 2)
    # tiny strata give nothing, but a class never goes unvalidated
    train, val = stratified_split(["x", "x", "y", "y"], 0.1, seed=0, groups=["1", "2", "1", "2"])
    assert sorted(["x", "x", "y", "y"][i] for i in val) == ["x", "y"] and len(train) == 2
    with pytest.raises(BadInput, match="groups has 1 items"):
        stratified_split(["x", "y"], 0.5, seed=0, groups=["g"])


def test_large_strata_take_exactly_the_rounded_share():
    """What the packaged models' cards (and so their metrics) depend on: round(n * fraction) of each stratum."""
    labels = ["pos"] * 1750 + ["neg"] * 1235 + ["pos"] * 1187
    groups = ["amazon"] * 2985 + ["nyt"] * 1187
    _, val = stratified_split(labels, 0.1, seed=0, groups=groups)
    assert len(val) == 175 + round(123.5) + round(118.7)


def test_unshuffled_split_is_the_tail_of_each_class():
    assert stratified_split(["x"] * 10, 0.3, seed=7, shuffle=False) == ([0, 1, 2, 3, 4, 5, 6], [7, 8, 9])
    assert stratified_split(["a", "b"] * 5, 0.2, seed=0, shuffle=False)[1] == [8, 9]


def test_three_parts_and_bad_fractions():
    train, val, cal = stratified_parts([0] * 50 + [1] * 50, [0.2, 0.1], seed=0)
    assert (len(train), len(val), len(cal)) == (70, 20, 10)
    train, val, cal = stratified_parts([0, 0], [0.4, 0.4], seed=0)  # never leaves a class no training item
    assert (len(train), len(val), len(cal)) == (1, 1, 0)
    for bad in ([], [1.0], [0.6, 0.5], [-0.1]):
        with pytest.raises(BadInput, match="fractions"):
            stratified_parts([0, 1], bad, seed=0)


def test_split_card_records_how_to_redo_the_split():
    card = split_card(3, 0.15, 85, 15, stratified_by="label and source", n_calibration=0)
    assert card == {"method": "stratified", "stratified_by": "label and source", "seed": 3, "val_fraction": 0.15,
                    "n_train": 85, "n_validation": 15, "n_calibration": 0}
    assert json.loads(json.dumps(card)) == card


def test_fingerprints(tmp_path):
    (tmp_path / "d.csv").write_bytes(b"text,label\nhi,x\n")
    assert file_sha256(tmp_path / "d.csv") == hashlib.sha256(b"text,label\nhi,x\n").hexdigest()
    assert data_fingerprint(tmp_path / "d.csv") == {"file": str(tmp_path / "d.csv"),
                                                    "sha256": hashlib.sha256(b"text,label\nhi,x\n").hexdigest()}
    recs = [{"text": "a", "label": "x"}, {"text": "b", "label": "y"}]
    assert records_fingerprint(recs) == fingerprint(recs) == records_fingerprint([{"label": "x", "text": "a"}, recs[1]])
    assert records_fingerprint(recs) != records_fingerprint(recs[::-1])  # order makes the split, so it counts
    assert data_fingerprint(iter(recs)) == {"n_records": 2, "sha256": records_fingerprint(recs)}
    assert len(records_fingerprint([{"audio": b"\x00\x01", "when": tmp_path}])) == 64  # bytes and paths hash too
    with pytest.raises(BadInput, match="no such file or folder"):
        file_sha256(tmp_path / "missing")


def test_one_ece_for_training_and_evaluation():
    from modelbay.ml.metrics.classification import calibration

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((200, 3)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, 3, 200)
    ece = expected_calibration_error(probs, y)
    assert ece == calibration(probs.max(axis=1), probs.argmax(axis=1) == y)["ece"]
    hand = sum(abs(((probs.argmax(1) == y)[m]).mean() - probs.max(1)[m].mean()) * m.mean()
               for lo in np.arange(10) / 10 for m in [(probs.max(1) > lo) & (probs.max(1) <= lo + 0.1)] if m.any())
    assert ece == pytest.approx(hand)


def test_reliability_bins_are_low_exclusive_high_inclusive():
    table = reliability([0.3, 0.7, 1.0, 0.0], [True, True, False, False], n_bins=10)["table"]
    assert [i for i, row in enumerate(table) if row["count"]] == [0, 2, 6, 9]  # 0.3 is in (0.2, 0.3]


def test_temperature_softens_overconfidence_and_sharpens_underconfidence():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    margin = np.where(rng.random(400) < 0.75, 1.0, -1.0) * np.where(y == 1, 1.0, -1.0)  # 75% right
    logits = np.stack([-margin, margin], axis=1)
    assert fit_temperature(logits * 5, y) > 1.5    # p = 0.99995 for 75% accuracy: too sure
    assert fit_temperature(logits * 0.1, y) < 0.5  # p = 0.55 for 75% accuracy: too shy


def test_atomic_model_dir_writes_all_or_nothing(tmp_path):
    out = tmp_path / "model"
    with atomic_model_dir(out) as tmp:
        write_json(tmp, "config.json", {"format": "x/1", "label": "é"})
        (tmp / "sub").mkdir()
        (tmp / "sub" / "w.bin").write_bytes(b"1")
        write_card(tmp, {"created": utc_timestamp(), "path": tmp_path})
        assert not out.exists()
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["label"] == "é"
    assert json.loads((out / "model_card.json").read_text())["path"] == str(tmp_path)
    with pytest.raises(RuntimeError), atomic_model_dir(out) as tmp:
        (tmp / "half.bin").write_bytes(b"0")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model_card.json", "sub"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
