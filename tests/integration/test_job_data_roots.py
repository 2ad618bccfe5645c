"""Training jobs read only the server's data folders or their own upload, and never send a file's content back.

Issue #10: `{"data": "/etc/shadow", "options": {"label_col": "zz"}}` used to come back as a failed job whose error
listed the file's first line. Files here hold SECRET; no answer of the server may contain it.
"""

from __future__ import annotations

import io
import json
import sys
import time
import zipfile

import numpy as np
import pytest
from fastapi.testclient import TestClient

from modelbay.serve.app import create_app
from modelbay.serve.config import JobsConfig, ServerConfig
from modelbay.serve.jobs import JobManager, TrainJobRequest

SECRET = "SECRETzq7"


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def client(fresh_settings, root):
    with TestClient(create_app(ServerConfig(jobs={"data_dirs": [str(root)]}))) as c:
        yield c


def _finished(client, job_id, timeout_s=240.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    pytest.fail(f"job {job_id} still {job['status']} after {timeout_s} s")


def _train(client, data, task="tabular-classification", **options):
    return client.post("/v1/jobs/train", json={"task": task, "name": "x", "data": data, "options": options})


def test_data_outside_the_data_folders_is_refused_whether_it_exists_or_not(client, root, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(f"{SECRET},b\n1,2\n")
    (root / "link.csv").symlink_to(secret)  # inside the folder by name, outside once resolved
    (root / "sub").mkdir()
    for data in ("/etc/passwd", "/etc/no-such-file", str(secret), "../secret.csv", "sub/../../secret.csv", "link.csv",
                 str(root / "link.csv")):
        response = _train(client, data, label_col="zz")
        assert response.status_code == 403, (data, response.text)
        error = response.json()["error"]
        assert error["code"] == "data_outside_roots" and str(root) in error["message"], error
        assert SECRET not in response.text
    assert client.get("/v1/jobs").json() == {"jobs": []}  # no job was queued, so nothing read the files


def test_another_jobs_upload_cannot_be_named_as_data(fresh_settings):
    home = fresh_settings().home
    (home / "uploads" / "job_other").mkdir(parents=True)
    (home / "uploads" / "job_other" / "t.csv").write_text("a,b\n1,2\n")
    with TestClient(create_app(ServerConfig(jobs={"data_dirs": [str(home)]}))) as client:
        response = _train(client, "uploads/job_other/t.csv")
    assert response.status_code == 403 and "uploads folder" in response.json()["error"]["message"]


@pytest.mark.parametrize("name, text, task, options", [
    ("t.csv", f"{SECRET}_a,{SECRET}_b\n{SECRET},1\n", "tabular-classification", {"label_col": "zz"}),
    ("t.conll", f"Tim B-PER\n{SECRET}\n", "ner", {"format": "conll"}),
])
def test_a_failed_job_never_shows_the_files_content(client, root, name, text, task, options):
    (root / name).write_text(text)
    job = _finished(client, _train(client, name, task=task, **options).json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "bad_input", job
    assert name in job["error"]["message"]  # the file is named...
    listed = client.get("/v1/jobs").text
    assert SECRET not in listed and SECRET not in client.get(f"/v1/jobs/{job['id']}").text  # ...its content is not


#: a stand-in for the job runner: a library exception (or a crash) whose text quotes the data
FAKE_RUNNER = f"""
import json, sys
sys.stdin.readline()
sys.stderr.write("Traceback ... ValueError: {SECRET}\\n")
if sys.argv[1] == "exception":
    print(json.dumps({{"event": "failed", "code": "training_failed", "message": "ValueError: row 3 is {SECRET}"}}))
sys.exit(3)
"""


@pytest.mark.parametrize("how, code, needle", [("exception", "training_failed", "training failed with ValueError"),
                                               ("crash", "training_crashed", "exited with code 3")])
def test_library_errors_and_crashes_keep_their_text_in_the_servers_log(fresh_settings, root, caplog, how, code, needle):
    (root / "t.csv").write_text("a,b\n1,2\n")
    manager = JobManager(JobsConfig(data_dirs=[str(root)]), command=[sys.executable, "-c", FAKE_RUNNER, how])
    job = manager.submit(TrainJobRequest(task="tabular-classification", name="x", data=str(root / "t.csv")))
    assert job.ended.wait(60)
    public = manager.public(job)
    assert public["status"] == "failed" and public["error"]["code"] == code and needle in public["error"]["message"]
    assert SECRET not in json.dumps(public)
    assert SECRET in caplog.text  # the operator still sees what happened


def _churn_csv(n_rows: int = 60) -> bytes:
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=n_rows), rng.normal(size=n_rows)
    rows = [f"{a:.4f},{b:.4f},{'yes' if a > 0 else 'no'}" for a, b in zip(x1, x2)]
    return ("x1,x2,churned\n" + "\n".join(rows) + "\n").encode()


def test_an_uploaded_table_trains_a_model_end_to_end(client, fresh_settings):
    response = client.post("/v1/jobs/train", files={"file": ("churn.csv", _churn_csv(), "text/csv")},
                           data={"task": "tabular-classification", "name": "churn",
                                 "options": json.dumps({"label_col": "churned", "num_threads": 1})})
    assert response.status_code == 202, response.text
    assert response.json()["data"] == "upload:churn.csv"
    job = _finished(client, response.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["model"] == "churn@1"
    assert any("validation holds only" in w for w in job["result"]["warnings"])  # 60 rows: a 9-row validation set
    assert not (fresh_settings().home / "uploads" / job["id"]).exists()  # the upload went with the job
    ran = client.post("/v1/tasks/tabular-classification", json={"inputs": [{"features": {"x1": 2.0, "x2": 0.0}}],
                                                                 "model": "churn"})
    assert ran.status_code == 200 and ran.json()["outputs"][0]["label"] == "yes", ran.text


def test_bad_uploads_are_refused_and_leave_nothing(client, fresh_settings, tmp_path):
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("photos/cat/1.png", b"x")
        zf.writestr(zipfile.ZipInfo("../../escaped.csv"), b"x")
    fields = {"task": "image-classification", "name": "x"}
    cases = [
        (client.post("/v1/jobs/train", files={"file": ("photos.zip", evil.getvalue())}, data=fields), "climbs out"),
        (client.post("/v1/jobs/train", data={**fields, "data": "/etc/passwd"}, files={"file": ("a.csv", b"a")}),
         "unknown form field"),
        (client.post("/v1/jobs/train", files={"file": ("a.csv", b"a")}, data={**fields, "options": "{nope"}),
         "options: not valid JSON"),
        (client.post("/v1/jobs/train", files={"other": ("a.csv", b"a")}, data=fields), "other"),
    ]
    for response, needle in cases:
        assert response.status_code == 422 and needle in response.json()["error"]["message"], response.text
    uploads = fresh_settings().home / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert not list(tmp_path.rglob("escaped.csv"))
    assert client.get("/v1/jobs").json() == {"jobs": []}


def test_the_schema_documents_both_ways_to_send_data(client):
    body = client.get("/openapi.json").json()["paths"]["/v1/jobs/train"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert "data" in body["application/json"]["schema"]["required"]
    assert body["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"


def test_an_upload_over_the_body_limit_is_a_413(fresh_settings, monkeypatch, root):
    monkeypatch.setenv("MODELBAY_LIMIT_MAX_BODY_BYTES", "10000")
    fresh_settings.cache_clear()
    with TestClient(create_app(ServerConfig(jobs={"data_dirs": [str(root)]}))) as client:
        response = client.post("/v1/jobs/train", files={"file": ("big.csv", b"1,2\n" * 10_000)},
                               data={"task": "tabular-classification", "name": "x"})
        assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
        assert client.get("/v1/jobs").json() == {"jobs": []}
    uploads = fresh_settings().home / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
