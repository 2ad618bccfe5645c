"""Training jobs through the server: each in its own process, with progress, cancel, a bounded queue."""

import csv
import os
import signal
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from modelbay.core.store import ArtifactStore
from modelbay.serve.app import create_app
from modelbay.serve.config import ServerConfig


@pytest.fixture
def big_table(tmp_path):
    """Enough rows that 100,000 boosting rounds without early stopping take minutes: a job to cancel."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 8))
    y = X @ rng.normal(size=8) + np.sin(3 * X[:, 0]) + rng.normal(scale=0.5, size=3000)
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"x{i}" for i in range(8)] + ["target"])
        writer.writerows([[*row, t] for row, t in zip(X.tolist(), y.tolist())])
    return path


SLOW = {"max_rounds": 100_000, "early_stopping_rounds": 0, "learning_rate": 0.001, "num_leaves": 63, "num_threads": 1}


@pytest.fixture
def client(fresh_settings, tmp_path):
    """A server whose jobs may read the test's tmp folder (where the tables are written), and nothing else."""
    with TestClient(create_app(ServerConfig(jobs={"data_dirs": [str(tmp_path)]}))) as c:
        yield c


def _wait(client, job_id, until, timeout_s=240.0, seen=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if seen is not None:
            seen.append(job["progress"])
        if until(job):
            return job
        time.sleep(0.1)
    pytest.fail(f"job {job_id} still {job['status']} after {timeout_s} s: {job}")


def _finished(job):
    return job["status"] not in ("queued", "running")


def test_a_job_trains_a_model_the_server_then_runs(client, tickets):
    response = client.post("/v1/jobs/train", json={
        "task": "classify", "name": "support-intent", "data": str(tickets),
        "options": {"text_col": "message", "label_col": "intent", "max_epochs": 40}})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] in ("queued", "running") and job["task"] == "text-classification"
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    seen = []
    job = _wait(client, job["id"], _finished, seen=seen)
    assert job["status"] == "succeeded", job
    assert job["result"]["model"] == "support-intent@1"
    assert job["result"]["metrics"]["validation"]["accuracy"] >= 0.5
    assert any("validation holds only" in w for w in job["result"]["warnings"])  # 36 tickets: a handful held out
    assert job["progress"]["stage"] == "embedding" and job["progress"]["total"] == 36  # reported by the trainer
    assert all(0.0 <= p["fraction"] <= 1.0 for p in seen)
    assert job["created"] <= job["started"] <= job["finished"]
    assert [j["id"] for j in client.get("/v1/jobs").json()["jobs"]] == [job["id"]]

    texts = ["the payment was taken twice", "my package is late", "I can't sign in to my account"]
    response = client.post("/v1/tasks/text-classification", json={"inputs": texts, "model": "support-intent"})
    assert response.status_code == 200, response.text
    assert [o["label"] for o in response.json()["outputs"]] == ["billing", "delivery", "login"]
    again = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "succeeded" in again.json()["error"]["message"]


def test_cancel_stops_a_running_job_and_leaves_no_version(client, big_table, fresh_settings):
    job = client.post("/v1/jobs/train", json={"task": "tabular-regression", "name": "slow", "data": str(big_table),
                                              "options": SLOW}).json()
    running = _wait(client, job["id"], lambda j: j["progress"]["done"] > 0)  # boosting has started
    assert running["status"] == "running" and running["progress"]["stage"] == "boosting rounds"
    assert 0 < running["progress"]["fraction"] < 1
    response = client.delete(f"/v1/jobs/{job['id']}")
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and cancelled["finished"] is not None
    assert ArtifactStore().list() == []
    # no staging directory and no empty name folder left either: the trainer stopped cleanly on SIGTERM
    assert sorted(p.name for p in (fresh_settings().home / "artifacts").iterdir()) == ["index.db"]
    assert client.post(f"/v1/jobs/{job['id']}/cancel").json()["status"] == "cancelled"  # idempotent


def test_a_killed_training_process_fails_the_job_not_the_server(client, big_table):
    job = client.post("/v1/jobs/train", json={"task": "tabular-regression", "name": "doomed", "data": str(big_table),
                                              "options": SLOW}).json()
    _wait(client, job["id"], lambda j: j["progress"]["done"] > 0)
    os.kill(client.app.state.jobs.get(job["id"]).process.pid, signal.SIGKILL)  # as the OOM killer would
    job = _wait(client, job["id"], _finished)
    assert job["status"] == "failed" and "killed by signal 9" in job["error"]["message"]
    assert client.get("/healthz").status_code == 200
    assert ArtifactStore().list() == []


def test_training_errors_come_back_as_a_failed_job(client, tickets):
    job = client.post("/v1/jobs/train", json={"task": "tabular-classification", "name": "x", "data": str(tickets),
                                              "options": {"label_col": "nope"}}).json()
    job = _wait(client, job["id"], _finished)
    assert job["status"] == "failed" and "nope" in job["error"]["message"] and job["error"]["code"] == "bad_input"


def test_bad_submissions_are_refused_with_the_reason(client, tickets, tmp_path):
    def submit(**fields):
        body = {"task": "text-classification", "name": "x", "data": str(tickets), **fields}
        return client.post("/v1/jobs/train", json=body)

    cases = [
        (submit(task="no-such-task"), 404, "no-such-task"),
        (submit(task="chat"), 422, "cannot be trained"),
        (submit(data=str(tmp_path / "missing.csv")), 422, "missing.csv"),
        (submit(data="no/such.csv"), 422, "does not exist"),  # relative: taken from the first data folder
        (submit(data="a\x00b.csv"), 422, "not a usable path"),
        (submit(name="Bad Name!"), 422, "bad model name"),
        (client.post("/v1/jobs/train", json={"task": "text-classification", "name": "x"}), 422, "data"),
        (client.get("/v1/jobs/job_nope"), 404, "job_nope"),
        (client.post("/v1/jobs/job_nope/cancel"), 404, "job_nope"),
    ]
    for response, status, needle in cases:
        assert response.status_code == status, response.text
        assert needle in response.json()["error"]["message"]
    assert client.get("/v1/jobs").json() == {"jobs": []}


def test_the_queue_is_bounded_and_queued_jobs_cancel_at_once(fresh_settings, big_table, tmp_path):
    config = ServerConfig(jobs={"max_running": 1, "max_queued": 1, "data_dirs": [str(tmp_path)]})
    with TestClient(create_app(config)) as client:
        body = {"task": "tabular-regression", "data": str(big_table), "options": SLOW}
        first = client.post("/v1/jobs/train", json={**body, "name": "first"}).json()
        second = client.post("/v1/jobs/train", json={**body, "name": "second"}).json()
        assert first["status"] == "running" and second["status"] == "queued"
        full = client.post("/v1/jobs/train", json={**body, "name": "third"})
        assert full.status_code == 429 and int(full.headers["retry-after"]) > 0
        outside = client.post("/v1/jobs/train", json={**body, "name": "x", "data": "/etc/hostname"})
        assert outside.status_code == 403 and "outside" in outside.json()["error"]["message"]
        assert client.post(f"/v1/jobs/{second['id']}/cancel").json()["status"] == "cancelled"
        assert client.post(f"/v1/jobs/{first['id']}/cancel").json()["status"] == "cancelled"
        assert {j["status"] for j in client.get("/v1/jobs").json()["jobs"]} == {"cancelled"}
    assert ArtifactStore().list() == []


def test_jobs_need_a_key_when_the_server_does(fresh_settings, tmp_path):
    config = ServerConfig(auth={"required": True, "keys_db": str(tmp_path / "keys.db")})
    with TestClient(create_app(config)) as client:
        assert client.get("/v1/jobs").status_code == 401
        assert client.post("/v1/jobs/train", json={}).status_code == 401
