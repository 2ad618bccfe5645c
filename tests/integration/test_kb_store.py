"""A knowledge base on real SQLite, bm25s and jieba (BM25 only, so no model loads): the document lifecycle."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from modelbay.core.errors import BadInput
from modelbay.kb import KnowledgeBase, delete_knowledge_base, list_knowledge_bases


@pytest.fixture
def kb(fresh_settings):
    kb = KnowledgeBase.create("support", embedding_model=None, chunk_max_chars=200, chunk_overlap_chars=30)
    yield kb
    kb.close()


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "refunds.md").write_text("# 售后\n\n## 退款\n\n收到商品七天内可以申请退款。退款三个工作日内原路返回。\n",
                                       encoding="utf-8")
    (folder / "sub" / "shipping.txt").write_text("We ship every order within two days.\n\nExpress costs extra.",
                                                 encoding="utf-8")
    (folder / "faq.csv").write_text("question,answer\nHow do I reset my password?,Use the Forgot link.\n",
                                    encoding="utf-8")
    (folder / "logo.png").write_bytes(b"\x89PNG")
    (folder / ".hidden.md").write_text("secret", encoding="utf-8")
    return folder


def test_create_open_list_delete(fresh_settings):
    KnowledgeBase.create("a", embedding_model=None).close()
    KnowledgeBase.create("b", embedding_model=None).close()
    assert [i.name for i in list_knowledge_bases()] == ["a", "b"]
    assert KnowledgeBase.open("a").info().documents == 0
    with pytest.raises(BadInput, match="already exists"):
        KnowledgeBase.create("a", embedding_model=None)
    delete_knowledge_base("a")
    assert [i.name for i in list_knowledge_bases()] == ["b"]
    with pytest.raises(BadInput, match="no knowledge base named 'a'; existing: b"):
        KnowledgeBase.open("a")
    with pytest.raises(BadInput, match="invalid knowledge-base name"):
        KnowledgeBase.create("../escape", embedding_model=None)


def test_add_a_folder_recursively_and_search_chinese_and_english(kb, docs):
    seen = []
    report = kb.add([docs], progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert sorted(p.rsplit("/", 1)[1] for p in report.added) == ["faq.csv", "refunds.md", "shipping.txt"]
    assert [p.rsplit("/", 1)[1] for p in report.skipped] == ["logo.png"]
    assert report.chunks_added == kb.info().chunks == 3  # the two short paragraphs of shipping.txt share one
    assert seen[0] == ("files", 0, 3) and ("files", 3, 3) in seen and seen[-1] == ("chunks", 3, 3)

    result = kb.search("退款多久到账", k=3)  # no dense index: hybrid falls back to BM25
    top = result.hits[0]
    assert (top.section, top.position, top.page) == ("售后 > 退款", 0, None)
    assert top.source.endswith("refunds.md") and top.bm25_score > 0 and top.dense_score is None
    assert result.confident and result.confidence is None
    assert kb.search("shipped orders", mode="bm25").hits[0].source.endswith("shipping.txt")  # stemmed
    assert kb.search("password reset").hits[0].text == "How do I reset my password?\nUse the Forgot link."
    nothing = kb.search("zzzz qqqq")
    assert nothing.hits == [] and not nothing.confident


def test_unchanged_files_are_skipped_and_changed_ones_replaced(kb, docs):
    kb.add([docs])
    assert kb.add([docs]).unchanged and not kb.add([docs]).added
    page = docs / "refunds.md"
    old_id = kb.document(str(page)).id
    page.write_text("# 售后\n\n## 换货\n\n换货请联系客服。\n", encoding="utf-8")
    report = kb.add([page])
    assert report.replaced == [str(page)] and report.added == []
    assert [c.text for c in kb.chunks(str(page))] == ["换货请联系客服。"]
    assert kb.search("退款", mode="bm25").hits == []  # the old chunks are gone
    assert kb.document(str(page)).id != old_id and len(kb.documents()) == 3


def test_remove_a_document(kb, docs):
    kb.add([docs])
    doc = kb.document(str(docs / "faq.csv"))
    assert kb.remove(doc.id).source == doc.source
    assert doc.source not in [d.source for d in kb.documents()]
    assert kb.search("password", mode="bm25").hits == []
    with pytest.raises(BadInput, match="has no document"):
        kb.remove(doc.id)


def test_a_bad_file_fails_the_add_with_nothing_written(kb, docs, tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(BadInput, match="broken.pdf"):
        kb.add([docs, bad])
    assert kb.documents() == []
    with pytest.raises(BadInput, match="unsupported file type"):
        kb.add([docs / "logo.png"])
    with pytest.raises(BadInput, match="no such file"):
        kb.add([tmp_path / "missing.md"])


def test_a_failing_write_rolls_back_the_whole_document(kb, docs, monkeypatch):
    from modelbay.kb import store as store_module

    def fail_midway(self, conn, doc, chunks):
        conn.execute("INSERT INTO documents(source, kind, sha256, size_bytes, chunk_count, added_at) "
                     "VALUES ('half', 'text', 'x', 1, 1, 0)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store_module.KBStore, "put_document", fail_midway)
    with pytest.raises(sqlite3.OperationalError):
        kb.add([docs / "refunds.md"])
    assert kb.documents() == [] and kb.info().chunks == 0


def test_search_while_adding_does_not_crash(kb, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        (folder / f"doc{i}.txt").write_text(f"产品{i}号的保修期是{i}个月。Product {i} warranty.", encoding="utf-8")
    kb.add([folder / "doc0.txt"])
    errors, results = [], []
    stop = threading.Event()

    def searcher():
        try:
            while not stop.is_set():
                results.append(len(kb.search("保修期 warranty", k=5).hits))
        except Exception as exc:  # noqa: BLE001 - any error is the failure this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        kb.add([folder])
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert results and all(1 <= n <= 5 for n in results)
    assert kb.info().documents == 40 and len(kb.search("保修期", k=50).hits) == 40


def test_an_unreadable_file_inside_a_folder_is_skipped_with_its_reason_but_named_it_fails(kb, docs):
    (docs / "settings.json").write_text('{"theme": "dark"}', encoding="utf-8")  # JSON, but not a FAQ table
    report = kb.add([docs])
    [entry] = [p for p in report.skipped if p.startswith(str(docs / "settings.json"))]
    assert entry.startswith(f"{docs / 'settings.json'} (") and entry.count("settings.json") == 1  # the path once
    assert len(report.added) == 3
    with pytest.raises(BadInput, match="settings.json"):
        kb.add([docs / "settings.json"])
