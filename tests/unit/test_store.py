import pytest

from modelbay.core.errors import BadInput, ModelNotFound
from modelbay.core.store import ArtifactStore, parse_ref


def _card(path, **extra):
    import json

    (path / "model_card.json").write_text(json.dumps({"task": "text-classification", **extra}))
    (path / "weights.bin").write_bytes(b"w")


def test_versions_count_up_and_the_first_is_promoted(tmp_path):
    store = ArtifactStore(tmp_path)
    for _ in range(2):
        with store.new_version("intent", "text-classification") as staging:
            _card(staging)
    versions = store.list("intent")
    assert [a.version for a in versions] == [1, 2]
    assert [a.promoted for a in versions] == [True, False]
    assert store.get("intent").version == 1 and store.get("intent@2").version == 2
    assert (tmp_path / "intent" / "2" / "weights.bin").read_bytes() == b"w"
    assert store.promote("intent@2").version == 2
    assert store.get("intent").version == 2


def test_an_interrupted_training_leaves_no_version_and_no_staging_files(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises(RuntimeError), store.new_version("intent", "text-classification") as staging:
        _card(staging)
        raise RuntimeError("disk full")
    assert store.list() == []
    assert [p.name for p in (tmp_path / "intent").iterdir()] == []


def test_a_directory_not_in_the_index_is_not_a_version(tmp_path):
    store = ArtifactStore(tmp_path)
    (tmp_path / "intent" / "7").mkdir(parents=True)  # e.g. left by a crash before the index commit
    with pytest.raises(ModelNotFound, match="intent"):
        store.get("intent")
    with store.new_version("intent", "text-classification") as staging:
        _card(staging)
    assert store.get("intent").version == 1


def test_bad_names_and_references_are_refused_with_the_fix(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises(BadInput, match="lowercase"), store.new_version("Bad Name!", "x"):
        pass
    with pytest.raises(BadInput, match="number"):
        parse_ref("intent@latest")
    with store.new_version("intent", "text-classification") as staging:
        _card(staging)
    with pytest.raises(ModelNotFound, match="versions: 1"):
        store.get("intent@5")


def test_every_published_card_says_when_and_which_modelbay(tmp_path):
    import json

    from modelbay import __version__

    store = ArtifactStore(tmp_path)
    with store.new_version("intent", "text-classification") as staging:
        _card(staging, metrics={"accuracy": 0.9})
    card = json.loads((tmp_path / "intent" / "1" / "model_card.json").read_text())
    assert card["modelbay_version"] == __version__ and card["created"].startswith("20")
    assert card["name"] == "intent" and card["metrics"] == {"accuracy": 0.9}
    assert store.get("intent").card == card
