"""document-extraction: typed key fields of invoices and receipts (English, Chinese) from OCR or a PDF text layer.

The text comes from the ``ocr`` pipeline of this package (same model, same input: images or PDFs);
fields come from patterns and layout (``fields.py``): invoice number, dates as ISO 8601, amounts with
their currency, the total, phone numbers and emails, each with the line it came from.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from ...core.protocols import Rendering
from ...core.registry import register
from ...core.task import Task, TaskOutput
from .engine import load_engine
from .fields import Found, extract
from .schema import OcrInput, OcrPage
from .task import example_inputs, ocr_pages, render_pages


class DocumentInput(OcrInput):
    date_order: Literal["MDY", "DMY"] = Field("MDY", description="how to read 04/05/2024: month first (MDY) or day first (DMY); a day > 12 decides by itself")


class Source(BaseModel):
    label: str | None = Field(..., description="the label that named the value ('invoice no', '价税合计'…); null when found without one")
    text: str = Field(..., description="the matched text as read")
    page: int = Field(..., description="1-based page")
    line: int = Field(..., description="index of the line in that page's lines (reading order)")
    line_text: str = Field(..., description="the whole line the value is on")
    box: list[float] = Field(..., description="[x0, y0, x1, y1] of that line, page pixels")


class TextField(Source):
    value: str = Field(..., description="the value: an id, a phone number (+ and digits) or an email")


class DateField(Source):
    value: str = Field(..., description="ISO 8601 date, YYYY-MM-DD")
    kind: Literal["date", "due_date"] = Field(..., description="what its label says it is ('date' when unlabelled)")


class AmountField(Source):
    value: float = Field(..., description="the amount as a number")
    currency: str | None = Field(..., description="ISO 4217 code from its sign or code ($ USD, ¥/￥/元 CNY, € EUR…); null if none")
    kind: Literal["total", "subtotal", "tax", "amount"] = Field(..., description="what its label says it is")


class DocumentOutput(TaskOutput):
    invoice_number: TextField | None = Field(..., description="labelled invoice/receipt number (发票号码…)")
    invoice_code: TextField | None = Field(..., description="Chinese VAT invoice code (发票代码)")
    dates: list[DateField] = Field(..., description="every date, labelled ones first")
    amounts: list[AmountField] = Field(..., description="labelled amounts (total, subtotal, tax, amount), then unlabelled ones with a currency")
    total: AmountField | None = Field(..., description="the document's total: 价税合计 / grand total / amount due before a plain total / 合计")
    phone_numbers: list[TextField] = Field(..., description="phone numbers")
    emails: list[TextField] = Field(..., description="email addresses")
    text: str = Field(..., description="the document's text (all pages)")
    pages: list[OcrPage] = Field(..., description="the OCR (or text-layer) pages the fields were read from")

    def summary(self) -> str:
        parts = [f"invoice {self.invoice_number.value}" if self.invoice_number else "",
                 f"total {self.total.value:,.2f} {self.total.currency or ''}".strip() if self.total else "",
                 f"{len(self.dates)} date(s)", f"{len(self.amounts)} amount(s)"]
        return ", ".join(p for p in parts if p)


def _source(f: Found) -> dict:
    return {"label": f.label, "text": f.text, "page": f.page, "line": f.line, "line_text": f.line_text,
            "box": [round(v, 1) for v in f.box]}


def to_output(found: dict, text: str, pages: list[OcrPage]) -> DocumentOutput:
    def text_field(f):
        return TextField(value=f.value, **_source(f)) if f else None

    def amount(f):
        return AmountField(value=f.value[0], currency=f.value[1], kind=f.kind if f.kind != "total" or f.label else "amount",
                           **_source(f)) if f else None

    return DocumentOutput(
        invoice_number=text_field(found["invoice_number"]), invoice_code=text_field(found["invoice_code"]),
        dates=[DateField(value=f.value, kind=f.kind if f.kind == "due_date" else "date", **_source(f)) for f in found["dates"]],
        amounts=[amount(f) for f in found["amounts"]], total=amount(found["total"]),
        phone_numbers=[text_field(f) for f in found["phone_numbers"]], emails=[text_field(f) for f in found["emails"]],
        text=text, pages=pages)


@register
class DocumentExtraction(Task[DocumentInput, DocumentOutput], Rendering):
    name = "document-extraction"
    aliases = ("invoice-extraction", "key-fields", "document-fields")
    description = "Typed key fields of invoices and receipts (invoice number, ISO dates, amounts, total, phones, emails) from images or PDFs"
    Input = DocumentInput
    Output = DocumentOutput
    default_model = "rapidocr-ppocrv4"
    accepts_models_of: ClassVar[tuple[str, ...]] = ("ocr",)
    primary_field = "image"
    media_fields: ClassVar[dict[str, str]] = {"image": "image"}
    render_media_type: ClassVar[str] = "image/png"

    @classmethod
    def examples(cls) -> list:
        return example_inputs()

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        self.engine = load_engine(model)

    def _forward(self, items: list[DocumentInput]) -> list[DocumentOutput]:
        outputs = []
        for item in items:
            ocr = ocr_pages(self.engine, item)
            found = extract(ocr.pages, day_first=item.date_order == "DMY")
            outputs.append(to_output(found, ocr.text, ocr.pages))
        return outputs

    def render(self, item: DocumentInput, output: DocumentOutput) -> bytes:
        """The pages with their lines, and each field's line outlined again and labelled with the field's name."""
        fields = [("invoice_number", output.invoice_number, None), ("invoice_code", output.invoice_code, None),
                  *((f.kind, f, None) for f in output.dates),  # the total is one of the amounts
                  *((f.kind, f, f"{f.value:,.2f} {f.currency or ''}".strip()) for f in output.amounts),
                  *(("phone", f, None) for f in output.phone_numbers), *(("email", f, None) for f in output.emails)]

        def extra(page: int):
            polygons, labels, keys = [], [], []
            for name, f, shown in fields:
                if f is not None and f.page == page:
                    x0, y0, x1, y1 = f.box
                    polygons.append([(x0 - 3, y0 - 3), (x1 + 3, y0 - 3), (x1 + 3, y1 + 3), (x0 - 3, y1 + 3)])
                    labels.append(f"{name}: {shown or f.value}")
                    keys.append(name)
            return polygons, labels, keys

        return render_pages(item, output, extra)
