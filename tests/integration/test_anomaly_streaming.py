"""Streaming anomaly detection: per-series state in SQLite survives a new task instance (a restarted server),
concurrent points for one series lose no update, and the points go through POST /v1/tasks/anomaly-detection."""

import subprocess
import sys
import threading

import pytest

from modelbay.core.errors import BadInput
from modelbay.core.loading import load_task

NORMAL = [50.0, 51, 49, 50, 52, 48, 50, 51, 49, 50, 51, 50]


def _point(series_id, value, **more):
    return {"series_id": series_id, "value": value, **more}


def test_state_survives_a_new_task_instance_and_series_are_separate(fresh_settings):
    first = load_task("anomaly-detection")
    outs = first([first.coerce(_point("cpu-web-1", v)) for v in NORMAL])
    assert [o.n_seen for o in outs] == list(range(1, 13))
    assert outs[0].warming_up and not outs[-1].warming_up     # the model's min_points is 10
    assert not any(o.is_anomaly for o in outs)

    restarted = load_task("anomaly-detection")                # a new instance: nothing shared in memory
    assert restarted is not first and restarted._store is None
    spike, other = restarted([restarted.coerce(_point("cpu-web-1", 93.1, timestamp="2026-01-01T10:00:00Z")),
                              restarted.coerce(_point("cpu-web-2", 93.1))])
    assert spike.n_seen == 13 and spike.is_anomaly and spike.score > 10 and spike.median == 50.0
    assert other.n_seen == 1 and other.warming_up and not other.is_anomaly
    state = restarted.store().state("anomaly-robust", "cpu-web-1")
    assert state["n_seen"] == 13 and state["n_flagged"] == 1 and state["last_timestamp"] == "2026-01-01T10:00:00Z"
    # a client's retry (same timestamp and value) gets the same answer and is not counted again
    retry = restarted([restarted.coerce(_point("cpu-web-1", 93.1, timestamp="2026-01-01T10:00:00Z"))])[0]
    assert retry.replayed and retry.n_seen == 13 and retry.score == spike.score and retry.is_anomaly
    assert restarted.store().state("anomaly-robust", "cpu-web-1")["n_flagged"] == 1
    # a per-point threshold: the same deviation passes under a high one
    high = restarted([restarted.coerce(_point("cpu-web-1", 93.1, threshold=1000))])[0]
    assert not high.is_anomaly and high.threshold == 1000 and not high.replayed and high.n_seen == 14


def test_concurrent_points_for_one_series_lose_no_update(fresh_settings):
    tasks = [load_task("anomaly-detection") for _ in range(4)]   # four instances, as four server processes would
    per_thread = 25
    barrier = threading.Barrier(len(tasks))
    errors = []

    def send(task, k):
        try:
            barrier.wait()
            for i in range(per_thread):
                task([task.coerce(_point("shared", 100.0 + (i + k) % 3))])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(t, k)) for k, t in enumerate(tasks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    state = tasks[0].store().state("anomaly-robust", "shared")
    assert state["n_seen"] == len(tasks) * per_thread
    assert len(state["window"]) == 50                         # the model's window_points


def test_another_process_sees_and_extends_the_state(fresh_settings, monkeypatch):
    task = load_task("anomaly-detection")
    task([task.coerce(_point("door", v)) for v in NORMAL[:5]])
    code = ("from modelbay.core.loading import load_task; t = load_task('anomaly-detection'); "
            "print(t([t.coerce({'series_id': 'door', 'value': 50.0})])[0].n_seen)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6"
    assert task([task.coerce(_point("door", 50.0))])[0].n_seen == 7


def test_points_over_http_and_bad_points(fresh_settings):
    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        for v in NORMAL:
            ok = client.post("/v1/tasks/anomaly-detection", json={"inputs": [_point("api-1", v)]})
            assert ok.status_code == 200, ok.text
        spike = client.post("/v1/tasks/anomaly-detection", json={"inputs": [_point("api-1", 5.0)]}).json()["outputs"][0]
        assert spike["kind"] == "point" and spike["is_anomaly"] and spike["n_seen"] == 13
        bad = client.post("/v1/tasks/anomaly-detection", json={"inputs": [{"value": 3.0}]})
        assert bad.status_code == 422 and "series_id" in bad.json()["error"]["message"]
        both = client.post("/v1/tasks/anomaly-detection", json={"inputs": [{"value": 3.0, "series_id": "a",
                                                                               "series": [1, 2, 3, 4, 5, 6, 7, 8]}]})
        assert both.status_code == 422 and "exactly one of" in both.json()["error"]["message"]


def _serve(home, port):
    """`modelbay serve` on ``port`` with MODELBAY_HOME=``home``, once it answers /readyz."""
    import os
    import time
    from pathlib import Path

    import httpx

    env = {**os.environ, "MODELBAY_HOME": str(home), "MODELBAY_OFFLINE": "1"}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("modelbay")), "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)  # polling for readiness only; no outcome depends on it
    proc.kill()
    pytest.fail("modelbay serve did not become ready")


@pytest.mark.e2e
@pytest.mark.slow
def test_a_killed_server_restarts_with_every_series_state(tmp_path):
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1/tasks/anomaly-detection"
    proc = _serve(tmp_path / "home", port)
    try:
        for v in NORMAL:
            assert httpx.post(url, json={"inputs": [_point("web", v)]}, timeout=60).status_code == 200
    finally:
        proc.kill()                                            # no clean shutdown: SIGKILL
        proc.wait(timeout=30)
    proc = _serve(tmp_path / "home", port)
    try:
        out = httpx.post(url, json={"inputs": [_point("web", 93.1)]}, timeout=60).json()["outputs"][0]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert out["n_seen"] == 13 and out["is_anomaly"] and out["median"] == 50.0


def test_a_failing_batch_changes_no_series(fresh_settings):
    task = load_task("anomaly-detection")
    task([task.coerce(_point("pump", v)) for v in NORMAL[:3]])
    with pytest.raises(BadInput, match="needs a detector trained"):
        task([task.coerce(_point("pump", 50.0)), task.coerce({"features": {"x": 1.0}})])
    assert task.store().state("anomaly-robust", "pump")["n_seen"] == 3   # the point was not applied
    assert task([task.coerce(_point("pump", 50.0))])[0].n_seen == 4       # a retry applies it once


def test_a_point_needs_a_series_id():
    from modelbay.tasks.anomaly_detection.task import AnomalyDetection

    with pytest.raises(BadInput, match="series_id"):
        AnomalyDetection.coerce({"value": 3.0})
