"""The API key store: hashed at rest, verified by id lookup, revocable, counting usage; and `modelbay keys`."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from typer.testing import CliRunner

from modelbay.cli_keys import keys_app
from modelbay.serve.auth import RateLimiter
from modelbay.serve.key_scopes import UnknownScope
from modelbay.serve.keys import KeyNameTaken, KeyStore, KeyStoreError, UnknownKey, _hash


@pytest.fixture
def store(tmp_path):
    with KeyStore(tmp_path / "keys.db", flush_interval_s=0) as s:  # 0: flush only on list()/close()
        yield s


def test_create_verify_and_the_key_format(store):
    key_id, secret = store.create("billing")
    assert secret.startswith(f"mb_{key_id}_") and len(secret) > 40
    assert store.verify(secret) == key_id
    other_id, other = store.create("ci")
    assert other_id != key_id and store.verify(other) == other_id


@pytest.mark.parametrize("bad", ["", None, "mb_", "Bearer x", "sk-123", "mb_000000000000_" + "a" * 43])
def test_garbage_and_unknown_keys_do_not_verify(store, bad):
    store.create("billing")
    assert store.verify(bad) is None


def test_a_tampered_secret_with_a_real_id_does_not_verify(store):
    key_id, secret = store.create("billing")
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert store.verify(tampered) is None
    assert store.verify(secret) == key_id


def test_revoke_by_name_or_id_and_unknown_names_are_named(store):
    a_id, a = store.create("alpha")
    b_id, b = store.create("beta")
    assert store.revoke("alpha").revoked is not None
    assert store.verify(a) is None and store.verify(b) == b_id
    store.revoke(b_id)
    assert store.verify(b) is None
    with pytest.raises(UnknownKey, match="'gamma'"):
        store.revoke("gamma")
    assert store.revoke(a_id).revoked  # revoking twice changes nothing and is not an error
    assert store.active_count() == 0


def test_names_are_unique_among_active_keys_and_reusable_after_revoke(store):
    store.create("svc")
    with pytest.raises(KeyNameTaken, match="svc"):
        store.create("svc")
    store.revoke("svc")
    new_id, new = store.create("svc")
    assert store.verify(new) == new_id
    with pytest.raises(KeyStoreError, match="not allowed"):
        store.create("has space")


def test_usage_counts_and_last_used(store):
    key_id, _ = store.create("billing")
    idle_id, _ = store.create("idle")
    for _ in range(3):
        store.record_use(key_id)
    rows = {k.id: k for k in store.list()}
    assert rows[key_id].requests == 3 and rows[key_id].last_used is not None
    assert rows[idle_id].requests == 0 and rows[idle_id].last_used is None
    store.record_use(key_id)
    store.close()
    assert {k.id: k.requests for k in KeyStore(store.path).list()}[key_id] == 4  # written at close, read afresh


def test_usage_is_flushed_in_the_background(tmp_path):
    import time

    with KeyStore(tmp_path / "keys.db", flush_interval_s=0.05) as store:
        key_id, _ = store.create("billing")
        store.record_use(key_id)
        reader = KeyStore(store.path)  # another process's view: it only sees what was written
        deadline = time.monotonic() + 10
        while reader.list()[0].requests != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reader.list()[0].requests == 1
        reader.close()


def test_only_hashes_reach_the_disk(tmp_path):
    store = KeyStore(tmp_path / "keys.db")
    key_id, secret = store.create("billing")
    store.record_use(key_id)
    store.list()
    random_part = secret.split("_", 2)[2]
    files = [p for p in tmp_path.iterdir() if p.name.startswith("keys.db")]
    for path in files:  # the database and its WAL, before and after the checkpoint at close
        assert random_part.encode() not in path.read_bytes(), path
    store.close()
    data = (tmp_path / "keys.db").read_bytes()
    assert key_id.encode() in data  # the public id is stored (it indexes the row) ...
    assert random_part.encode() not in data and secret.encode() not in data  # ... the secret is not
    assert (tmp_path / "keys.db").stat().st_mode & 0o077 == 0  # owner-only


def test_concurrent_verify_and_usage_from_threads(store):
    keys = [store.create(f"k{i}") for i in range(4)]
    errors: list[str] = []

    def worker(n: int) -> None:
        key_id, secret = keys[n % len(keys)]
        for _ in range(200):
            if store.verify(secret) != key_id or store.verify(secret + "x") is not None:
                errors.append(f"thread {n}: wrong answer")
            store.record_use(key_id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    flusher = threading.Thread(target=lambda: [store.flush() for _ in range(50)])
    for t in [*threads, flusher]:
        t.start()
    for t in [*threads, flusher]:
        t.join()
    assert errors == []
    assert {k.name: k.requests for k in store.list()} == {f"k{i}": 400 for i in range(4)}


def test_an_open_server_without_a_key_file_does_not_create_one(tmp_path):
    store = KeyStore(tmp_path / "nested" / "keys.db")
    assert store.verify("mb_0123456789ab_" + "x" * 43) is None
    assert store.list() == [] and store.active_count() == 0
    assert not (tmp_path / "nested").exists()


def test_rate_limiter_is_a_token_bucket():
    now = [100.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(20.0)  # 3/min refills one request every 20 s
    assert limiter.acquire("b") == 0.0  # buckets are per key
    now[0] += 20.0
    assert limiter.acquire("a") == 0.0 and limiter.acquire("a") > 0
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(0)


# -- the CLI, on the sub-app (cli.py mounts it as `modelbay keys`) ------------------------------------------

def test_cli_create_list_revoke(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "keys.db")
    created = runner.invoke(keys_app, ["create", "billing", "--db", db])
    assert created.exit_code == 0, created.output
    secret = next(w for w in created.output.split() if w.startswith("mb_"))
    assert "Authorization: Bearer " + secret in created.output and "curl" in created.output

    listed = runner.invoke(keys_app, ["list", "--db", db, "--json"])
    rows = json.loads(listed.output)
    assert [r["name"] for r in rows] == ["billing"] and rows[0]["revoked"] is None
    assert secret not in listed.output
    table = runner.invoke(keys_app, ["list", "--db", db])
    assert table.exit_code == 0 and "billing" in table.output and secret not in table.output

    revoked = runner.invoke(keys_app, ["revoke", "billing", "--db", db])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert KeyStore(db).verify(secret) is None
    again = runner.invoke(keys_app, ["revoke", rows[0]["id"], "--db", db])
    assert again.exit_code == 0 and "already revoked" in again.output


def test_cli_errors_name_the_problem(tmp_path, fresh_settings):
    runner = CliRunner()
    missing = runner.invoke(keys_app, ["revoke", "nobody"])  # default file under MODELBAY_HOME
    assert missing.exit_code == 2 and "nobody" in missing.output
    assert str(fresh_settings().home / "keys.db") in missing.output
    created = runner.invoke(keys_app, ["create", "svc", "--json"])
    assert json.loads(created.output)["key"].startswith("mb_")
    dup = runner.invoke(keys_app, ["create", "svc"])
    assert dup.exit_code == 2 and "already exists" in dup.output
    empty = runner.invoke(keys_app, ["list", "--db", str(tmp_path / "none.db")])
    assert "modelbay keys create" in empty.output


# -- scopes ---------------------------------------------------------------------------------------------

def test_keys_carry_scopes_and_new_keys_default_to_run(store):
    default_id, default = store.create("svc")
    grant = store.authenticate(default)
    assert grant.id == default_id and grant.scopes == {"run"}
    assert grant.allows("run") and not grant.allows("train") and not grant.allows("metrics")
    _, trainer = store.create("ci", scopes=["train", "run", "train"])
    assert store.authenticate(trainer).scopes == {"run", "train"}
    _, root = store.create("ops", scopes=["admin"])
    assert all(store.authenticate(root).allows(s) for s in ("run", "train", "metrics", "admin"))
    assert {k.name: k.scopes for k in store.list()} == {"svc": ("run",), "ci": ("run", "train"), "ops": ("admin",)}
    with pytest.raises(UnknownScope, match="'deploy'"):
        store.create("x", scopes=["run", "deploy"])
    with pytest.raises(UnknownScope, match="at least one"):
        store.create("y", scopes=[])
    assert store.authenticate(trainer + "x") is None and store.authenticate("sk-123") is None


def test_a_key_file_from_before_scopes_is_migrated_and_its_keys_keep_every_right(tmp_path):
    db = tmp_path / "keys.db"
    secret = "mb_0123456789ab_" + "s" * 43
    salt = b"0" * 16
    old = sqlite3.connect(db)  # the schema as released before scopes, with one key in it
    old.executescript("""
        CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,
                               created REAL NOT NULL, last_used REAL, requests INTEGER NOT NULL DEFAULT 0, revoked REAL);
        CREATE UNIQUE INDEX api_keys_active_name ON api_keys(name) WHERE revoked IS NULL;
    """)
    old.execute("INSERT INTO api_keys (id, name, salt, hash, created) VALUES (?, ?, ?, ?, ?)",
                ("0123456789ab", "prometheus", salt, _hash(salt, secret), 1.0e9))
    old.commit()
    old.close()
    with KeyStore(db) as store:
        assert store.verify(secret) == "0123456789ab"  # a server reading the file first migrates it
        assert store.authenticate(secret).scopes == {"admin"}  # upgrading breaks no scrape, CI job or client
        _, new = store.create("svc")
        assert store.authenticate(new).scopes == {"run"}
    with KeyStore(db) as again:  # opening a migrated file changes nothing
        assert {k.name: k.scopes for k in again.list()} == {"prometheus": ("admin",), "svc": ("run",)}


def test_cli_create_with_scopes_and_list_them(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "keys.db")
    default = json.loads(runner.invoke(keys_app, ["create", "web", "--db", db, "--json"]).output)
    assert default["scopes"] == ["run"]
    ci = runner.invoke(keys_app, ["create", "ci", "--scope", "run", "--scope", "train", "--db", db, "--json"])
    assert json.loads(ci.output)["scopes"] == ["run", "train"]
    scrape = runner.invoke(keys_app, ["create", "prometheus", "-s", "metrics", "--db", db])
    assert scrape.exit_code == 0 and "scopes: metrics" in scrape.output and "/metrics" in scrape.output
    commas = runner.invoke(keys_app, ["create", "ops", "--scope", "train,metrics", "--db", db, "--json"])
    assert json.loads(commas.output)["scopes"] == ["train", "metrics"]
    bad = runner.invoke(keys_app, ["create", "nope", "--scope", "root", "--db", db])
    assert bad.exit_code == 2 and "'root'" in bad.output and "run, train, metrics, admin" in bad.output
    rows = json.loads(runner.invoke(keys_app, ["list", "--db", db, "--json"]).output)
    assert {r["name"]: r["scopes"] for r in rows} == {"web": ["run"], "ci": ["run", "train"],
                                                     "prometheus": ["metrics"], "ops": ["train", "metrics"]}
    table = runner.invoke(keys_app, ["list", "--db", db])
    assert "scopes" in table.output and "run,train" in table.output
