"""PDFs are read first in a capped child process: a decompression bomb costs that process, not ours."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from modelbay.core.errors import BadInput
from modelbay.core.pdf_guard import pdf_text_pages

CAP_BYTES = 256 * 2**20  # the child's Python and PDFium need well under this for a small PDF
_spec = importlib.util.spec_from_file_location("pdf_bombs", Path(__file__).parents[2] / "bench" / "pdf_bombs.py")
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)
one_page_pdf = _bench.one_page_pdf  # the bench's PDF builder: one page, a Flate stream padded with spaces


def test_a_pdf_is_read_in_the_child_from_bytes_or_a_path(tmp_path):
    data = one_page_pdf("Opening hours 9 to 18")
    path = tmp_path / "hours.pdf"
    path.write_bytes(data)
    for source in (data, path):
        pages = pdf_text_pages(source, shown="hours.pdf", max_memory_bytes=CAP_BYTES)
        assert pages.count == 1 and pages.texts == ["Opening hours 9 to 18"]
    assert pdf_text_pages(data, shown="x", pages=[], render=True, max_memory_bytes=CAP_BYTES).texts == []


def test_a_page_that_unpacks_past_the_cap_is_bad_input_not_our_memory():
    bomb = one_page_pdf("Hello", padding_bytes=400 * 2**20)
    assert len(bomb) < 1_000_000
    with pytest.raises(BadInput, match=r"bomb.pdf: the PDF could not be read within 256 MiB of memory"):
        pdf_text_pages(bomb, shown="bomb.pdf", max_memory_bytes=CAP_BYTES)


def test_a_damaged_pdf_a_damaged_page_and_a_slow_pdf_are_bad_input():
    with pytest.raises(BadInput, match=r"broken.pdf: cannot open the PDF"):
        pdf_text_pages(b"%PDF-1.4 not really", shown="broken.pdf", max_memory_bytes=CAP_BYTES)
    missing_page = one_page_pdf("x").replace(b"/Kids [3 0 R] /Count 1", b"/Kids [3 0 R 9 0 R] /Count 2")
    with pytest.raises(BadInput, match=r"torn.pdf: cannot open the PDF \(page 2: "):
        pdf_text_pages(missing_page, shown="torn.pdf", max_memory_bytes=CAP_BYTES)
    with pytest.raises(BadInput, match=r"slow.pdf: reading the PDF took over 0 s"):
        pdf_text_pages(one_page_pdf("x"), shown="slow.pdf", timeout_s=0.001)  # no process starts in 1 ms


def test_knowledge_base_ingestion_and_ocr_both_read_pdfs_through_the_guard(tmp_path, monkeypatch):
    from modelbay.core import pdf_guard
    from modelbay.kb.readers import read_document
    from modelbay.tasks.ocr.pages import pdf_pages

    bomb = one_page_pdf("Hello", padding_bytes=400 * 2**20)
    path = tmp_path / "manual.pdf"
    path.write_bytes(bomb)
    monkeypatch.setattr(pdf_guard, "MAX_PDF_MEMORY_BYTES", CAP_BYTES)
    with pytest.raises(BadInput, match="manual.pdf: the PDF could not be read within 256 MiB"):
        read_document(path)
    with pytest.raises(BadInput, match="image: the PDF could not be read within 256 MiB"):
        pdf_pages(bomb, None, 5, 150, True)
