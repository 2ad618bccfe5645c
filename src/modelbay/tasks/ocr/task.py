"""OCR: text lines with rotated boxes, confidences and reading order, from images and PDF pages.

The model is RapidOCR's PP-OCRv4 (ONNX; Chinese and English): DB text detection, a 0/180-degree
angle classifier, CRNN recognition. A PDF page with a text layer uses it (exact, ~100x faster)
unless ``text_layer`` is false; scanned pages are rendered with pypdfium2 at ``dpi`` and OCRed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ...core.media import media_bytes
from ...core.protocols import Evaluable, Rendering
from ...core.registry import register
from ...core.task import Task
from .engine import Line, join_lines, load_engine, recognise
from .pages import Page, image_page, is_pdf, pdf_pages
from .schema import OcrInput, OcrLine, OcrOutput, OcrPage

RENDER_MAX_PAGES = 4          # pages drawn into one picture
RENDER_MAX_WIDTH_PX = 2400    # each page pair (picture | text) drawn at most this wide


def read_pages(item: OcrInput) -> tuple[str, list[Page], int]:
    """``(kind, selected pages, page count)`` of an input (image or PDF); every decoder bounded."""
    data = media_bytes(item.image, kind="image or PDF", field="image", allow_paths=False)
    if is_pdf(data):
        pages, count = pdf_pages(data, item.pages, item.max_pages, item.dpi, item.text_layer)
        return "pdf", pages, count
    return "image", [image_page(data)], 1


def ocr_pages(engine, item: OcrInput) -> OcrOutput:
    """Read every selected page: its text layer when it has one (and ``text_layer``), else OCR."""
    kind, pages, count = read_pages(item)
    results = []
    for page in pages:
        if page.text_lines is not None:
            source, lines, text = "text-layer", page.text_lines, page.layer_text
        elif page.blank:
            source, lines, text = "ocr", [], ""
        else:
            source, lines = "ocr", recognise(engine, page.image(), item.min_confidence)
            text = join_lines(lines)
        results.append(OcrPage(page=page.number, width=page.width, height=page.height, source=source,
                               text=text, lines=[_line(ln) for ln in lines]))
    return OcrOutput(text="\n\n".join(p.text for p in results), kind=kind, page_count=count, pages=results)


def _line(line: Line) -> OcrLine:
    return OcrLine(text=line.text, confidence=line.confidence, polygon=[list(p) for p in line.polygon],
                   box=[round(v, 1) for v in line.box], angle_deg=line.angle_deg)


def render_pages(item: OcrInput, output: OcrOutput, extra=None) -> bytes:
    """Each of the first pages twice, side by side: its lines' polygons numbered in reading order, and the
    text read, drawn where it was found. ``extra(page_number) -> (polygons, labels, keys)`` adds labelled
    shapes (document fields) to the left picture."""
    from PIL import Image

    from ...ml.vision.draw import png_bytes

    _, pages, _ = read_pages(item.model_copy(update={"max_pages": max(item.max_pages, len(output.pages))}))
    by_number = {p.number: p for p in pages}
    drawn = [_page_picture(Image.fromarray(by_number[r.page].image()), r, extra) for r in output.pages[:RENDER_MAX_PAGES]]
    if not drawn:
        return png_bytes(Image.new("RGB", (1, 1), "white"))
    sheet = Image.new("RGB", (max(d.width for d in drawn), sum(d.height for d in drawn)), "white")
    y = 0
    for d in drawn:
        sheet.paste(d, (0, y))
        y += d.height
    return png_bytes(sheet)


def _page_picture(img, result: OcrPage, extra):
    from PIL import Image, ImageDraw

    from ...ml.vision.draw import draw_polygons, label_font

    polygons = [[tuple(pt) for pt in ln.polygon] for ln in result.lines]
    labels, keys = [str(i + 1) for i in range(len(polygons))], [result.source] * len(polygons)
    if extra is not None:
        more = extra(result.page)
        polygons, labels, keys = polygons + more[0], labels + more[1], keys + more[2]
    left = draw_polygons(img, polygons, labels, keys)
    right = Image.new("RGB", img.size, "white")
    draw = ImageDraw.Draw(right)
    for ln in result.lines:
        x0, y0, x1, y1 = ln.box
        size_px = max(8, min(64, round(min(y1 - y0, (x1 - x0) / max(1, len(ln.text)) * 2) * 0.8)))
        draw.text((x0, y0), ln.text, fill=(20, 20, 20), font=label_font(size_px))
    pair = Image.new("RGB", (img.width * 2, img.height), "white")
    pair.paste(left, (0, 0))
    pair.paste(right, (img.width, 0))
    if pair.width > RENDER_MAX_WIDTH_PX:
        pair = pair.resize((RENDER_MAX_WIDTH_PX, round(pair.height * RENDER_MAX_WIDTH_PX / pair.width)))
    return pair


def example_inputs() -> list:
    """A PNG with two lines of printed text, and a one-page PDF whose page is that picture (no text layer)."""
    import io

    from PIL import Image, ImageDraw

    from ...ml.vision.draw import label_font

    img = Image.new("RGB", (420, 120), "white")
    draw = ImageDraw.Draw(img)
    font = label_font(28)
    draw.text((16, 14), "Invoice No. 10023", fill="black", font=font)
    draw.text((16, 64), "Total: $1,250.00", fill="black", font=font)
    png, pdf = io.BytesIO(), io.BytesIO()
    img.save(png, format="PNG")
    img.save(pdf, format="PDF", resolution=100.0)
    return [png.getvalue(), {"image": pdf.getvalue(), "dpi": 150}]


@register
class Ocr(Task[OcrInput, OcrOutput], Evaluable, Rendering):
    name = "ocr"
    aliases = ("text-recognition", "read-text")
    description = "Printed text in images and PDF pages (English, Chinese): lines with rotated boxes, confidences, reading order"
    Input = OcrInput
    Output = OcrOutput
    default_model = "rapidocr-ppocrv4"
    primary_field = "image"
    media_fields: ClassVar[dict[str, str]] = {"image": "image"}
    render_media_type: ClassVar[str] = "image/png"
    metric_family = "speech"      # WER and CER (jiwer); CER is the headline for Chinese
    target_field = "text"

    @classmethod
    def examples(cls) -> list:
        return example_inputs()

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """A table of image/PDF files (paths relative to the table's folder) and their text.

        Columns ``image`` and ``text`` by default; ``image_col`` (or ``text_col``) and ``label_col`` rename them.
        """
        from ...data.loaders import read_labelled_table

        return read_labelled_table(path, input_field="image", target_field="text",
                                   input_col=options.get("image_col") or options.get("text_col"),
                                   target_col=options.get("label_col"), fmt=options.get("format"), path_fields=("image",))

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        self.engine = load_engine(model)

    def _forward(self, items: list[OcrInput]) -> list[OcrOutput]:
        return [ocr_pages(self.engine, item) for item in items]

    def render(self, item: OcrInput, output: OcrOutput) -> bytes:
        return render_pages(item, output)
