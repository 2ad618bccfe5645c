"""Calibrating a knowledge base's handoff threshold with the real multilingual-e5-small index: Python, CLI, HTTP."""

from __future__ import annotations

import json

import pytest

from modelbay.core.errors import BadInput
from modelbay.kb import KnowledgeBase

pytestmark = pytest.mark.slow

FAQ = ("question,answer\n"
       "如何申请退款？,在订单详情页点击申请退款，三个工作日内原路返回。\n"
       "发票怎么开？,在个人中心的发票管理里申请电子发票。\n"
       "How do I change my delivery address?,Open the order and choose Edit address before it ships.\n"
       "Can I pay with a credit card?,We accept Visa and Mastercard.\n")
QUESTIONS = [("钱什么时候能退回来？", True), ("我想开电子发票", True), ("Can I change where my order is delivered?", True),
             ("Do you take Visa cards?", True), ("量子色动力学中的渐近自由是什么？", False), ("明天北京会下雨吗？", False),
             ("Who won the football world cup in 1998?", False), ("How do I bake sourdough bread?", False)]


@pytest.fixture
def kb(fresh_settings, tmp_path):
    faq = tmp_path / "faq.csv"
    faq.write_text(FAQ, encoding="utf-8")
    kb = KnowledgeBase.create("shop", chunk_max_chars=300, chunk_overlap_chars=50)
    kb.add([faq])
    yield kb
    kb.close()


def test_the_chosen_threshold_is_stored_and_decides_later_searches(kb):
    generation = kb.store.generation()
    report = kb.calibrate(QUESTIONS)
    assert kb.store.generation() == generation  # the chunks did not change: no search index is rebuilt
    assert report.applied and (report.answerable, report.unanswerable) == (4, 4)
    assert report.before.threshold == 0.85 and report.after.balanced_accuracy >= report.before.balanced_accuracy
    reopened = KnowledgeBase.open("shop")  # what another process (the server) reads
    assert reopened.settings["confidence_threshold"] == report.after.threshold == reopened.info().confidence_threshold
    assert reopened.search("refund", k=3).threshold == report.after.threshold  # the one it judged by
    assert reopened.search("refund", k=3, confidence_threshold=0.5).threshold == 0.5  # a request's own wins
    verdicts = [(reopened.search(q, k=3).confident, answerable) for q, answerable in QUESTIONS]
    answered = sum(c for c, a in verdicts if a) / 4
    handed_off = sum(not c for c, a in verdicts if not a) / 4
    assert (answered, handed_off) == (report.after.answered, report.after.handed_off)


def test_a_dry_run_keeps_the_threshold_and_too_few_questions_are_refused(kb):
    report = kb.calibrate(QUESTIONS, apply=False)
    assert not report.applied and KnowledgeBase.open("shop").settings["confidence_threshold"] == 0.85
    with pytest.raises(BadInput, match="at least 3 answerable and 3 unanswerable"):
        kb.calibrate(QUESTIONS[:5])
    lexical = KnowledgeBase.create("lexical", embedding_model=None)
    with pytest.raises(BadInput, match="BM25-only"):
        lexical.calibrate(QUESTIONS)


def test_cli_calibrates_from_the_eval_file(kb, tmp_path):
    from typer.testing import CliRunner

    from modelbay.cli import app

    data = tmp_path / "qa.jsonl"
    data.write_text("".join(json.dumps({"question": q, "answer": "yes" if a else None}, ensure_ascii=False) + "\n"
                            for q, a in QUESTIONS), encoding="utf-8")
    result = CliRunner().invoke(app, ["kb", "calibrate", "shop", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["applied"] and KnowledgeBase.open("shop").settings["confidence_threshold"] == report["after"]["threshold"]
    table = CliRunner().invoke(app, ["kb", "calibrate", "shop", "--data", str(data), "--dry-run"])
    assert table.exit_code == 0 and "not stored (--dry-run)" in table.output and "chosen" in table.output
    listing = CliRunner().invoke(app, ["kb", "ls"])
    assert listing.exit_code == 0 and f"{report['after']['threshold']:.3f}" in listing.output


def test_http_calibrates_and_names_a_bad_request(kb):
    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        body = {"questions": [{"question": q, "answerable": a} for q, a in QUESTIONS], "apply": False}
        r = client.post("/v1/kb/shop/calibrate", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["after"]["balanced_accuracy"] >= r.json()["before"]["balanced_accuracy"]
        with client.stream("POST", "/v1/kb/shop/calibrate?stream=true", json=body) as streamed:
            events = [line[6:] for line in streamed.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]" and json.loads(events[-2])["report"] == r.json()
        progress = [json.loads(e) for e in events[:-2]]
        assert progress[-1] == {"stage": "questions", "done": len(QUESTIONS), "total": len(QUESTIONS)}
        r = client.post("/v1/kb/shop/calibrate", json={"questions": body["questions"][:4]})
        assert r.status_code == 422 and "unanswerable" in r.text
        r = client.post("/v1/kb/shop/calibrate", json={"questions": [{"question": "x"}] * 3})
        assert r.status_code == 422 and "answerable" in r.text
        assert client.post("/v1/kb/shop/search", json={"query": "refund"}).status_code == 200  # still serving
    assert KnowledgeBase.open("shop").settings["confidence_threshold"] == 0.85


def test_the_shared_knowledge_base_follows_the_home_it_was_opened_in(fresh_settings, monkeypatch, tmp_path):
    from modelbay.kb.shared import shared_knowledge_base

    KnowledgeBase.create("same-name", embedding_model=None)
    first = shared_knowledge_base("same-name")
    monkeypatch.setenv("MODELBAY_HOME", str(tmp_path / "other-home"))
    fresh_settings.cache_clear()
    KnowledgeBase.create("same-name", embedding_model=None, confidence_threshold=0.9)
    second = shared_knowledge_base("same-name")  # not the first home's, whose file still exists
    assert second.folder != first.folder and second.settings["confidence_threshold"] == 0.9
