"""document-extraction: typed fields by patterns and layout, on drawn invoices (a smoke test: hand-made data)
read by the real PP-OCRv4 models, and on OCR pages built directly (the layout rules, no model)."""

from __future__ import annotations

import io

import pytest

from modelbay.ml.vision.draw import font_path
from modelbay.tasks.ocr.fields import extract
from modelbay.tasks.ocr.schema import OcrLine, OcrPage

pytest.importorskip("rapidocr_onnxruntime")
needs_cjk_font = pytest.mark.skipif(
    font_path() is None or "DejaVu" in font_path(),
    reason="no CJK font installed to draw Chinese text (fonts-wqy-microhei)")
pytestmark = pytest.mark.models("document-extraction")


@pytest.fixture(scope="module")
def doc(loaded_task):
    return loaded_task("document-extraction")


def drawn(rows, size=(760, 420), font_px=26) -> bytes:
    from PIL import Image, ImageDraw

    from modelbay.ml.vision.draw import label_font

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    for x, y, text in rows:
        draw.text((x, y), text, fill="black", font=label_font(font_px))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def page(rows) -> OcrPage:
    """An OCR page from ``(x0, y0, x1, y1, text)`` rows."""
    lines = [OcrLine(text=t, confidence=1.0, polygon=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], box=[x0, y0, x1, y1],
                     angle_deg=0.0) for x0, y0, x1, y1, t in rows]
    return OcrPage(page=1, width=800, height=600, source="ocr", text="", lines=lines)


def test_english_invoice_fields_are_typed(doc):
    image = drawn([(20, 20, "ACME Supplies Ltd"), (20, 70, "Invoice No: INV-2024-0042"),
                   (20, 120, "Date: March 5, 2024"), (20, 170, "Tel: +1 (555) 010-2000"),
                   (20, 220, "Email: billing@acme.example"), (20, 270, "Subtotal: $1,000.00"),
                   (20, 320, "Tax: $80.00"), (20, 370, "Total: $1,080.00")])
    out = doc([doc.coerce(image)])[0]
    assert out.invoice_number.value == "INV-2024-0042" and out.invoice_number.label == "invoice no"
    assert [d.value for d in out.dates] == ["2024-03-05"]
    assert out.total.value == 1080.0 and out.total.currency == "USD" and out.total.kind == "total"
    assert {(a.kind, a.value) for a in out.amounts} == {("subtotal", 1000.0), ("tax", 80.0), ("total", 1080.0)}
    assert [p.value for p in out.phone_numbers] == ["+15550102000"]
    assert [e.value for e in out.emails] == ["billing@acme.example"]
    assert out.total.line_text.replace(" ", "").startswith("Total") and out.total.page == 1


@needs_cjk_font
def test_chinese_invoice_fields_with_values_right_of_and_below_labels(doc):
    image = drawn([(20, 20, "发票号码"), (240, 20, "04471234"), (20, 80, "开票日期：2024年1月5日"),
                   (20, 140, "金额合计 ￥1,000.00"), (20, 200, "税额 ￥130.00"), (20, 260, "价税合计"),
                   (20, 310, "￥1,130.00"), (20, 370, "电话：13812345678")], font_px=30)
    out = doc([doc.coerce(image)])[0]
    assert out.invoice_number.value == "04471234" and out.invoice_number.label == "发票号码"  # to its right
    assert [d.value for d in out.dates] == ["2024-01-05"]
    assert out.total.value == 1130.0 and out.total.currency == "CNY" and out.total.label == "价税合计"  # below it
    assert ("subtotal", 1000.0) in {(a.kind, a.value) for a in out.amounts}
    assert [p.value for p in out.phone_numbers] == ["13812345678"]


def test_layout_prefers_the_same_row_then_the_line_below():
    p = page([(10, 10, 110, 30, "Invoice Number"), (300, 12, 420, 30, "A-7781"), (10, 40, 110, 60, "Due Date"),
              (10, 66, 140, 86, "05/04/2024"), (500, 300, 600, 320, "Amount Due"), (500, 326, 600, 346, "€ 99.50")])
    found = extract([p])
    assert found["invoice_number"].value == "A-7781" and found["invoice_number"].line == 1
    assert [(d.kind, d.value) for d in found["dates"]] == [("due_date", "2024-05-04")]
    assert found["total"].value == (99.5, "EUR") and found["total"].label == "amount due"
    assert [(d.value) for d in extract([p], day_first=True)["dates"]] == ["2024-04-05"]


def test_a_grand_total_beats_a_plain_total_and_a_subtotal_is_not_a_total():
    p = page([(10, 10, 200, 30, "Subtotal 40.00"), (10, 40, 200, 60, "Total 45.00"), (10, 70, 200, 90, "价税合计 ¥50.00")])
    found = extract([p])
    assert found["total"].value == (50.0, "CNY")
    assert [(a.kind, a.value[0]) for a in found["amounts"]] == [("subtotal", 40.0), ("total", 45.0), ("total", 50.0)]


def test_nothing_is_invented_from_plain_text():
    found = extract([page([(10, 10, 400, 30, "Chapter 12 describes 2048 packages"), (10, 40, 400, 60, "see page 7")])])
    assert found["invoice_number"] is None and found["total"] is None
    assert not found["dates"] and not found["amounts"] and not found["phone_numbers"]


def test_render_marks_the_fields(doc):
    from PIL import Image

    item = doc.coerce(drawn([(20, 20, "Invoice No: 5521"), (20, 80, "Total: $12.00")]))
    out = doc([item])[0]
    img = Image.open(io.BytesIO(doc.render(item, out)))
    assert img.format == "PNG" and img.size == (1520, 420)
