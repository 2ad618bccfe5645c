"""Several processes publishing one name at once: each version holds the files of the writer its index row names."""

import json
import multiprocessing
import os
import sqlite3

from modelbay.core.store import ArtifactStore

WRITERS = 6
TIMEOUT_S = 120  # only bounds a hang; no outcome depends on it


def _write(root: str, writer: int, start, all_reserved, refs) -> None:
    """One trainer: reserve, wait until every writer holds a reservation, write files naming itself, publish."""
    store = ArtifactStore(root)
    start.wait(TIMEOUT_S)
    with store.new_version("same-name", "text-classification") as staged:
        all_reserved.wait(TIMEOUT_S)  # all six are between reservation and publishing now
        (staged.path / "writer.txt").write_text(str(writer))
        (staged.path / "model_card.json").write_text(json.dumps({"writer": writer}))
    refs.put((writer, staged.ref))


def _killed_while_writing(root: str, reserved) -> None:
    with ArtifactStore(root).new_version("same-name", "text-classification") as staged:
        (staged.path / "weights.bin").write_bytes(b"half")
        reserved.set()
        os._exit(1)  # no finally, no cleanup: like a SIGKILL or the OOM killer


def _wait_then_publish(root: str, reserved, go_on) -> None:
    with ArtifactStore(root).new_version("same-name", "text-classification") as staged:
        (staged.path / "weights.bin").write_bytes(b"whole")
        reserved.set()
        go_on.wait(TIMEOUT_S)


def test_concurrent_publishers_of_one_name_each_get_their_own_version(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    start, all_reserved, refs = ctx.Event(), ctx.Barrier(WRITERS), ctx.Queue()
    procs = [ctx.Process(target=_write, args=(str(tmp_path), i, start, all_reserved, refs)) for i in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    reported = dict(refs.get(timeout=TIMEOUT_S) for _ in procs)
    for p in procs:
        p.join(TIMEOUT_S)
        assert p.exitcode == 0

    versions = ArtifactStore(tmp_path).list("same-name")
    assert [a.version for a in versions] == list(range(1, WRITERS + 1))  # no gaps, no duplicates
    for artifact in versions:
        assert (artifact.path / "writer.txt").read_text() == str(artifact.card["writer"])
    assert sorted(a.card["writer"] for a in versions) == list(range(WRITERS))
    by_ref = {a.ref: a.card["writer"] for a in versions}
    assert {writer: by_ref[ref] for writer, ref in reported.items()} == {w: w for w in range(WRITERS)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.db", "same-name"]  # no staging left


def test_a_killed_writer_is_cleaned_up_by_the_next_store_and_a_live_one_is_not(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    reserved = ctx.Event()
    killed = ctx.Process(target=_killed_while_writing, args=(str(tmp_path), reserved))
    killed.start()
    killed.join(TIMEOUT_S)
    assert killed.exitcode == 1 and reserved.is_set()
    [left] = tmp_path.glob(".staging-same-name-1-*")

    live_reserved, go_on = ctx.Event(), ctx.Event()
    live = ctx.Process(target=_wait_then_publish, args=(str(tmp_path), live_reserved, go_on))
    live.start()  # its new_version sweeps first: the killed writer's version 1 is free again
    assert live_reserved.wait(TIMEOUT_S)
    assert not left.exists()
    [live_staging] = tmp_path.glob(".staging-same-name-*")
    assert ArtifactStore(tmp_path).remove_orphans() == []  # a store starting now leaves the live writer alone
    assert live_staging.is_dir()
    go_on.set()
    live.join(TIMEOUT_S)
    assert live.exitcode == 0

    [artifact] = ArtifactStore(tmp_path).list("same-name")
    assert artifact.ref == "same-name@1" and (artifact.path / "weights.bin").read_bytes() == b"whole"
    with sqlite3.connect(tmp_path / "index.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM reservations").fetchone() == (0,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.db", "same-name"]


def test_the_first_store_of_a_process_removes_what_a_killed_writer_left(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    reserved = ctx.Event()
    killed = ctx.Process(target=_killed_while_writing, args=(str(tmp_path / "artifacts"), reserved))
    killed.start()
    killed.join(TIMEOUT_S)
    assert killed.exitcode == 1 and reserved.is_set() and list((tmp_path / "artifacts").glob(".staging-*"))
    check = ctx.Process(target=_list_in_a_new_process, args=(str(tmp_path / "artifacts"),))
    check.start()
    check.join(TIMEOUT_S)
    assert check.exitcode == 0
    assert sorted(p.name for p in (tmp_path / "artifacts").iterdir()) == ["index.db"]


def _list_in_a_new_process(root: str) -> None:
    assert ArtifactStore(root).list() == []  # reading is enough: the store cleans at start-up
