import json
import sqlite3

import pytest

from modelbay.core.errors import BadInput, ModelNotFound
from modelbay.core.store import ArtifactStore


def _card(path, **extra):
    (path / "model_card.json").write_text(json.dumps({"task": "text-classification", **extra}))
    (path / "weights.bin").write_bytes(b"w")


def _reservations(root):
    with sqlite3.connect(root / "index.db") as conn:
        return conn.execute("SELECT name, version FROM reservations").fetchall()


def test_versions_count_up_and_the_first_is_promoted(tmp_path):
    store = ArtifactStore(tmp_path)
    for _ in range(2):
        with store.new_version("intent", "text-classification") as staged:
            _card(staged.path)
    versions = store.list("intent")
    assert [a.version for a in versions] == [1, 2]
    assert [a.promoted for a in versions] == [True, False]
    assert store.get("intent").version == 1 and store.get("intent@2").version == 2
    assert (tmp_path / "intent" / "2" / "weights.bin").read_bytes() == b"w"
    assert store.promote("intent@2").version == 2
    assert store.get("intent").version == 2


def test_new_version_hands_back_the_version_it_reserved_even_when_another_publishes_first(tmp_path):
    store = ArtifactStore(tmp_path)
    with store.new_version("intent", "text-classification") as first:
        with store.new_version("intent", "text-classification") as second:
            _card(second.path, writer="second")
        _card(first.path, writer="first")
    assert (first.ref, second.ref) == ("intent@1", "intent@2")
    assert store.get(first.ref).card["writer"] == "first" and store.get(second.ref).card["writer"] == "second"
    assert store.get("intent").version == 2  # the first one published is promoted
    assert _reservations(tmp_path) == []


def test_an_interrupted_training_leaves_no_version_no_staging_and_no_name_folder(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises(RuntimeError), store.new_version("intent", "text-classification") as staged:
        _card(staged.path)
        raise RuntimeError("disk full")
    assert store.list() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.db"]
    assert _reservations(tmp_path) == []
    with store.new_version("intent", "text-classification") as staged:  # the number was given back
        _card(staged.path)
    assert staged.ref == "intent@1"


def test_a_directory_not_in_the_index_is_not_a_version(tmp_path):
    store = ArtifactStore(tmp_path)
    (tmp_path / "intent" / "1").mkdir(parents=True)  # e.g. left by a crash between rename and index commit
    (tmp_path / "intent" / "1" / "stale.bin").write_bytes(b"old")
    with pytest.raises(ModelNotFound, match="intent"):
        store.get("intent")
    with store.new_version("intent", "text-classification") as staged:
        _card(staged.path)
    assert store.get("intent").version == 1
    assert sorted(p.name for p in store.get("intent").path.iterdir()) == ["model_card.json", "weights.bin"]


def test_a_live_writers_staging_directory_survives_a_sweep_and_an_orphaned_one_does_not(tmp_path):
    store = ArtifactStore(tmp_path)
    with store.new_version("intent", "text-classification") as staged:
        _card(staged.path)
        orphan = tmp_path / ".staging-intent-9-abc"  # no reservation, no lock: a writer killed before it made one
        orphan.mkdir()
        assert ArtifactStore(tmp_path).remove_orphans() == [orphan]  # another store, as in another process
        assert staged.path.is_dir() and _reservations(tmp_path) == [("intent", 1)]
    assert store.get("intent@1").card["name"] == "intent"


def test_a_store_written_before_reservations_opens_lists_and_cleans(tmp_path):
    """The layout and index of older modelbay versions: no reservations table, staging inside <name>/."""
    (tmp_path / "intent" / "1").mkdir(parents=True)
    _card(tmp_path / "intent" / "1")
    (tmp_path / "intent" / ".staging-k2j3").mkdir()  # a killed trainer's, as the old code named them
    (tmp_path / "empty-name").mkdir()  # a failed job's, as the old code left them
    with sqlite3.connect(tmp_path / "index.db") as conn:
        conn.executescript("""
            CREATE TABLE versions (name TEXT NOT NULL, version INTEGER NOT NULL, task TEXT NOT NULL,
                created REAL NOT NULL, card TEXT NOT NULL, PRIMARY KEY (name, version));
            CREATE TABLE promoted (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
            INSERT INTO versions VALUES ('intent', 1, 'text-classification', 1700000000.0, '{"task": "x"}');
            INSERT INTO promoted VALUES ('intent', 1);""")
    store = ArtifactStore(tmp_path)
    assert [(a.ref, a.promoted) for a in store.list()] == [("intent@1", True)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.db", "intent"]
    assert sorted(p.name for p in (tmp_path / "intent").iterdir()) == ["1"]
    with store.new_version("intent", "text-classification") as staged:
        _card(staged.path)
    assert staged.ref == "intent@2" and store.get("intent").version == 1


def test_bad_names_and_references_are_refused_with_the_fix(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises(BadInput, match="lowercase"), store.new_version("Bad Name!", "x"):
        pass
    with store.new_version("intent", "text-classification") as staged:
        _card(staged.path)
    with pytest.raises(ModelNotFound, match="versions: 1"):
        store.get("intent@5")
    with pytest.raises(BadInput, match="no model name before '@'"):
        store.get("@1")  # would otherwise pick version 1 of whichever name came first
    assert store.get("intent@0001").ref == "intent@1"


def test_every_published_card_says_when_and_which_modelbay(tmp_path):
    from modelbay import __version__

    store = ArtifactStore(tmp_path)
    with store.new_version("intent", "text-classification") as staged:
        _card(staged.path, metrics={"accuracy": 0.9})
    card = json.loads((tmp_path / "intent" / "1" / "model_card.json").read_text())
    assert card["modelbay_version"] == __version__ and card["created"].startswith("20")
    assert card["name"] == "intent" and card["metrics"] == {"accuracy": 0.9}
    assert store.get("intent").card == card


def test_a_trainer_writing_through_atomic_model_dir_keeps_its_staging_lock(tmp_path):
    """Trainers replace their output directory as a whole; the lock is on the folder around it, so it holds."""
    from modelbay.ml.model_dir import atomic_model_dir, write_card

    store = ArtifactStore(tmp_path)
    with store.new_version("intent", "text-classification") as staged:
        with atomic_model_dir(staged.path) as tmp:
            write_card(tmp, {"task": "text-classification"})
        assert ArtifactStore(tmp_path).remove_orphans() == []
    assert sorted(p.name for p in store.get("intent@1").path.iterdir()) == ["model_card.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.db", "intent"]


def test_a_writer_killed_between_rename_and_commit_leaves_nothing_the_next_store_keeps(tmp_path):
    ArtifactStore(tmp_path).list()  # creates the index
    (tmp_path / ".staging-intent-1-x").mkdir()  # what such a writer leaves: its (empty) staging folder,
    (tmp_path / "intent" / "1").mkdir(parents=True)  # the renamed version, not in the index,
    with sqlite3.connect(tmp_path / "index.db") as conn:  # and its reservation
        conn.execute("INSERT INTO reservations VALUES ('intent', 1, '.staging-intent-1-x', 99999, 0)")
    assert ArtifactStore(tmp_path).remove_orphans() == [tmp_path / ".staging-intent-1-x"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.db"] and _reservations(tmp_path) == []
