"""Readers: structure kept (headings, pages, table rows, FAQ pairs); every failure a BadInput naming the file."""

from __future__ import annotations

import pytest

from modelbay.core.errors import BadInput
from modelbay.kb.readers import read_document


def test_markdown_headings_become_the_section_path_and_code_is_not_a_heading(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text("# 售后\n\n总则。\n\n## 退款\n\n- 七天内\n- 原路返回\n\n```\n# not a heading\n```\n\n"
                    "# Shipping\n\nWe ship in 2 days.\n", encoding="utf-8")
    kind, blocks = read_document(path)
    assert kind == "markdown"
    assert [(b.section, b.text) for b in blocks] == [
        (("售后",), "总则。"), (("售后", "退款"), "- 七天内\n- 原路返回"),
        (("售后", "退款"), "```\n# not a heading\n```"), (("Shipping",), "We ship in 2 days.")]


def test_html_keeps_headings_and_drops_scripts(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("<html><head><title>t</title><script>var x = 1;</script></head><body><nav>Home | About</nav>"
                    "<h1>Help</h1><p>Intro <b>text</b>.</p><h2>Returns</h2><ul><li>Free returns</li></ul>"
                    "<table><tr><td>Fee</td><td>0</td></tr></table></body></html>", encoding="utf-8")
    _, blocks = read_document(path)
    assert [(b.section, b.text) for b in blocks] == [
        (("Help",), "Intro text ."), (("Help", "Returns"), "Free returns"), (("Help", "Returns"), "Fee | 0")]


def test_gbk_text_is_read(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("第一段。\n\n第二段。".encode("gbk"))
    assert [b.text for b in read_document(path)[1]] == ["第一段。", "第二段。"]


def test_docx_headings_paragraphs_and_tables_in_order(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Warranty", level=1)
    document.add_paragraph("Two years on all devices.")
    document.add_heading("退货", level=2)
    document.add_paragraph("七天无理由退货。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "运费", "免费"
    path = tmp_path / "policy.docx"
    document.save(path)
    kind, blocks = read_document(path)
    assert kind == "docx"
    assert [(b.section, b.text) for b in blocks] == [
        (("Warranty",), "Two years on all devices."), (("Warranty", "退货"), "七天无理由退货。"),
        (("Warranty", "退货"), "运费 | 免费")]


def test_pdf_text_keeps_its_page(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    path = tmp_path / "manual.pdf"
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:
        for text in ("Reset the router first.", "Warranty lasts two years."):
            fig = plt.figure(figsize=(4, 2))
            fig.text(0.1, 0.5, text)
            pdf.savefig(fig)
            plt.close(fig)
    kind, blocks = read_document(path)
    assert kind == "pdf"
    assert [(b.page, b.text) for b in blocks] == [(1, "Reset the router first."), (2, "Warranty lasts two years.")]


def test_faq_table_rows_are_question_answer_blocks(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text("问题,答案\n如何退款？,在订单页申请。\nHow to reset?,Click reset.\n", encoding="utf-8")
    kind, blocks = read_document(path)
    assert kind == "faq"
    assert [(b.text, b.faq) for b in blocks] == [("如何退款？\n在订单页申请。", True), ("How to reset?\nClick reset.", True)]
    jsonl = tmp_path / "faq.jsonl"
    jsonl.write_text('{"question": "Q?", "answer": "A."}\n', encoding="utf-8")
    assert [b.text for b in read_document(jsonl)[1]] == ["Q?\nA."]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("faq.csv", b"text,label\nhi,greeting\n", "needs a question and an answer column"),
    ("photo.png", b"\x89PNG\r\n", "unsupported file type '.png'"),
    ("notes.txt", b"abc\x00\x01\x02", "binary file"),
    ("broken.pdf", b"%PDF-1.4 not really", "cannot open the PDF"),
    ("broken.docx", b"PK not a zip", "not a readable Word"),
    ("empty.md", b"   \n\n", "no text found"),
])
def test_bad_files_are_bad_input_naming_the_file_and_what_is_supported(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadInput, match=message) as info:
        read_document(path)
    assert name in str(info.value)
    if "unsupported" in message:
        assert ".docx" in str(info.value) and ".pdf" in str(info.value)


def test_a_docx_that_unpacks_past_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """A zip bomb: a document.xml that compresses ~1000:1 would otherwise be loaded and parsed whole."""
    import zipfile

    import docx

    from modelbay.kb import readers

    path = tmp_path / "bomb.docx"
    docx.Document().save(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customXml/padding.xml", b" " * 3_000_000)
    assert path.stat().st_size < 200_000
    monkeypatch.setattr(readers, "MAX_DOCX_UNPACKED_BYTES", 2_000_000)
    with pytest.raises(BadInput, match=r"bomb.docx: unpacks to [34] MiB, over the 2 MiB"):
        read_document(path)
    monkeypatch.setattr(readers, "MAX_DOCX_UNPACKED_BYTES", 16_000_000)
    with pytest.raises(readers.EmptyDocument):  # under the limit it is read (and holds no text)
        read_document(path)
