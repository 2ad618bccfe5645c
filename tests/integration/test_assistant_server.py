"""Knowledge bases and the assistant over HTTP, on a real in-process server: upload, search, answer, stream, scopes."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

FAQ = "question,answer\nHow long do refunds take?,Refunds reach the original card within 5 business days.\n" \
      "Do you ship to Norway?,Yes. Orders to Norway ship in 4 to 6 working days; customs fees are included.\n" \
      "怎么修改收货地址？,发货前可以在订单详情页修改收货地址，发货后请联系客服。\n"


@pytest.fixture
def client(fresh_settings):
    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def support(client):
    assert client.post("/v1/kb", json={"name": "support"}).status_code == 200
    r = client.post("/v1/kb/support/documents", files=[("file", ("faq.csv", FAQ.encode(), "text/csv"))])
    assert r.status_code == 200, r.text
    assert r.json()["added"] and r.json()["chunks_added"] == 3
    return client


def test_search_finds_the_paraphrased_faq_entry(support):
    r = support.post("/v1/kb/support/search", json={"query": "when will I get my money back", "k": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["hits"][0]["text"].startswith("Q: How long do refunds take?") or "Refunds" in body["hits"][0]["text"]
    listing = support.get("/v1/kb/support").json()
    assert listing["documents"][0]["source"].endswith("faq.csv") and listing["chunks"] == 3


def test_assistant_route_answers_with_sources(support):
    r = support.post("/v1/tasks/assistant", json={"inputs": {"kb": "support", "question": "收货地址写错了怎么办？",
                                                             "generate": False}})
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    assert out["language"] == "zh" and "修改收货地址" in out["answer"]
    assert [s["document"] for s in out["sources"] if s["cited"]] == ["faq.csv"]


def test_streamed_answer_ends_with_the_whole_output(support):
    body = {"inputs": {"kb": "support", "question": "Do you deliver to Norway?", "generate": False}, "stream": True}
    with support.stream("POST", "/v1/tasks/assistant", json=body) as r:
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    pieces = [json.loads(e)["piece"] for e in events[:-1] if "piece" in json.loads(e)]
    output = json.loads(events[-2])["output"]
    assert "".join(pieces) == output["answer"] and "Norway" in output["answer"]
    assert output["sources"][0]["cited"]


def test_bad_requests_name_the_problem(support):
    r = support.post("/v1/kb/nope/search", json={"query": "x"})
    assert r.status_code == 404 and "support" in r.text  # names the existing ones
    r = support.post("/v1/kb/support/search", json={"query": ""})
    assert r.status_code == 422 and "query" in r.text
    r = support.post("/v1/kb/support/documents", files=[("file", ("evil.exe", b"MZ\x90\x00", "application/octet-stream"))])
    assert r.status_code == 422 and "evil.exe" in r.text
    r = support.post("/v1/kb", json={"name": "../etc"})
    assert r.status_code == 422
    r = support.post("/v1/tasks/assistant", json={"inputs": {"kb": "support", "question": "hi", "conversation_id": "a b"}})
    assert r.status_code == 422 and "conversation_id" in r.text
    assert support.post("/v1/kb/support/search", json={"query": "refund"}).status_code == 200  # still serving


def test_a_rejected_upload_keeps_the_document_it_would_replace_and_names_the_file_as_sent(support, fresh_settings):
    from modelbay.core.settings import get_settings

    uploads = get_settings().home / "kb" / "support" / "uploads"
    kept = (uploads / "faq.csv").read_bytes()
    files = [("file", ("notes.md", b"# Notes\nGift cards never expire.\n", "text/markdown")),
             ("file", ("faq.csv", b"\x00\x01 not a table", "text/csv"))]
    for query in ("", "?stream=true"):
        r = support.post(f"/v1/kb/support/documents{query}", files=files)
        body = r.text
        assert (r.status_code == 422) == (not query) and "faq.csv: the file holds no records" in body, body
        assert str(uploads) not in body  # the server's folders stay private
    assert (uploads / "faq.csv").read_bytes() == kept and not (uploads / "notes.md").exists()
    assert sorted(p.name for p in uploads.parent.rglob("*") if p.is_file() and "incoming" in p.parts) == []
    hits = support.post("/v1/kb/support/search", json={"query": "refund", "k": 1}).json()["hits"]
    assert "5 business days" in hits[0]["text"]  # still indexed, from the kept copy
    r = support.post("/v1/kb/support/documents", files=files[:1])
    assert r.status_code == 200 and r.json()["chunks_added"] == 1


def test_upload_progress_streams(support):
    files = [("file", ("more.md", b"# Opening hours\nThe shop opens at 9 and closes at 18, Monday to Saturday.\n",
                       "text/markdown"))]
    with support.stream("POST", "/v1/kb/support/documents?stream=true", files=files) as r:
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    stages = {e["stage"] for e in events if "stage" in e}
    assert {"files", "chunks"} <= stages and events[-1]["report"]["added"]


def test_changing_a_knowledge_base_needs_the_train_scope(fresh_settings, tmp_path):
    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app
    from modelbay.serve.config import ServerConfig
    from modelbay.serve.keys import KeyStore

    store = KeyStore(tmp_path / "keys.db")
    _, run_key = store.create("web", scopes=["run"])
    config = ServerConfig.model_validate({"auth": {"required": True, "keys_db": str(tmp_path / "keys.db")}})
    with TestClient(create_app(config)) as c:
        headers = {"Authorization": f"Bearer {run_key}"}
        r = c.post("/v1/kb", json={"name": "support"}, headers=headers)
        assert r.status_code == 403 and "train" in r.text
        assert c.get("/v1/kb", headers=headers).status_code == 200
