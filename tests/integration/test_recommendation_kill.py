"""Events acknowledged by a real `modelbay serve` survive SIGKILL mid-stream: each 2xx is a committed event."""

import sqlite3
import threading

import httpx
import pytest

pytestmark = pytest.mark.e2e

#: acknowledged events after which the server is killed, while the senders keep sending
KILL_AFTER_EVENTS = 400
SENDERS = 4
BATCH = 10


def _send_until_refused(base: str, worker: int, acked: list[str], lock: threading.Lock, enough: threading.Event) -> None:
    with httpx.Client(timeout=30) as client:
        n = 0
        while True:
            batch = [{"user_id": f"w{worker}", "item_id": f"{worker}-{n}-{j}", "event": "view"} for j in range(BATCH)]
            try:
                reply = client.post(f"{base}/v1/events", json={"events": batch})
            except httpx.HTTPError:
                return                                    # the server is gone
            if reply.status_code != 200:
                raise AssertionError(f"events refused: {reply.status_code} {reply.text}")
            assert reply.json()["stored"] == BATCH
            with lock:
                acked.extend(e["item_id"] for e in batch)
                if len(acked) >= KILL_AFTER_EVENTS:
                    enough.set()
            n += 1


def test_acknowledged_events_survive_sigkill_and_a_restart(tmp_path):
    from e2e.conftest import spawned_server

    db = tmp_path / "events.db"
    env = {"MODELBAY_HOME": str(tmp_path / "home"), "MODELBAY_EVENTS_URL": f"sqlite:///{db}"}
    acked: list[str] = []
    lock, enough = threading.Lock(), threading.Event()
    with spawned_server("recommendation", env=env) as (base, proc, _log):
        senders = [threading.Thread(target=_send_until_refused, args=(base, w, acked, lock, enough), daemon=True)
                   for w in range(SENDERS)]
        for t in senders:
            t.start()
        assert enough.wait(timeout=300), f"only {len(acked)} events acknowledged"
        proc.kill()                                       # SIGKILL: no shutdown code runs
        proc.wait(timeout=30)
        for t in senders:
            t.join(timeout=60)
            assert not t.is_alive()
    with lock:
        acknowledged = set(acked)
    assert len(acknowledged) >= KILL_AFTER_EVENTS
    with sqlite3.connect(db) as conn:                     # opening it recovers the write-ahead log
        stored = {row[0] for row in conn.execute("SELECT item_id FROM events")}
    assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged events lost"

    with spawned_server(env=env) as (base, _proc, _log):  # the restarted server appends to the same store
        reply = httpx.post(f"{base}/v1/events", json={"events": [{"user_id": "after", "item_id": "260"}]}, timeout=60)
        assert reply.status_code == 200, reply.text
        out = httpx.post(f"{base}/v1/tasks/recommendation", json={"inputs": {"user_id": "w0", "k": 3}}, timeout=60)
        assert out.status_code == 200 and out.json()["outputs"][0]["strategy"] == "popular"  # unknown items only
    with sqlite3.connect(db) as conn:
        after = {row[0] for row in conn.execute("SELECT item_id FROM events")}
    assert stored | {"260"} == after
