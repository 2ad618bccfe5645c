"""The pages of an input: one decoded image, or PDF pages rendered with pypdfium2 (their text layer too).

Bounded everywhere: a page range and ``max_pages``; the render scale is lowered so a page never
exceeds the image pixel limit (``MODELBAY_LIMIT_MAX_IMAGE_PIXELS``); a PDF that pdfium cannot open
(truncated, encrypted, not a PDF) is a ``BadInput`` naming the problem.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import BadInput
from .engine import Line

PDF_MAGIC = b"%PDF-"
#: PDFium is not thread-safe; the server may run ocr, document-extraction and image-to-text at once
PDFIUM_LOCK = threading.RLock()
MIN_TEXT_LAYER_CHARS = 8  # fewer non-space characters on a page: treat it as a scan and OCR it
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d*)\s*)?$")


def is_pdf(data: bytes) -> bool:
    return PDF_MAGIC in data[:1024]


def parse_page_range(spec: str | int | None, page_count: int, max_pages: int) -> list[int]:
    """0-based page indices from a 1-based spec like ``"1-3,5,8-"``; None: every page. At most ``max_pages``.

    >>> parse_page_range("2-3,5,7-", 8, 10)
    [1, 2, 4, 6, 7]
    """
    spec = None if spec is None else str(spec)
    if spec is not None and len(spec) > 200:
        raise BadInput("pages: longer than 200 characters", hint='write ranges like "1-3,5,8-"')
    if not spec or not spec.strip():
        wanted = list(range(min(page_count, max_pages + 1)))  # one more than allowed is enough to refuse
    else:
        wanted, seen = [], set()
        for part in spec.split(","):
            m = _RANGE.match(part)
            if not m:
                raise BadInput(f"pages: cannot read {part.strip()!r}", hint='write 1-based pages like "1-3,5,8-"')
            first = int(m.group(1))
            last = first if m.group(2) is None else (int(m.group(2)) if m.group(2) else page_count)
            if first < 1 or last < first:
                raise BadInput(f"pages: {part.strip()!r} is not a range of pages from 1", hint='e.g. "1-3"')
            for i in range(first - 1, min(last, page_count)):
                if i not in seen:
                    seen.add(i)
                    wanted.append(i)
                if len(wanted) > max_pages:
                    break  # enough to refuse: never list a huge document's pages
        if not wanted:
            raise BadInput(f"pages: {spec!r} selects none of the document's {page_count} pages")
    if len(wanted) > max_pages:
        raise BadInput(f"pages: more pages selected than max_pages ({max_pages})",
                       hint='raise max_pages or choose pages with "pages": "1-5"')
    return wanted


@dataclass
class Page:
    number: int                    # 1-based
    width: int                     # pixels of the rendered page
    height: int
    pixels: Any = None             # (h, w, 3) uint8 RGB, None until rendered
    text_lines: list[Line] | None = None  # from the PDF's text layer, in pixels
    layer_text: str = ""           # the text layer's own text, in its order
    blank: bool = False            # a PDF page with no objects at all
    _render: Any = field(default=None, repr=False)

    def image(self):
        """The page's pixels, rendering them on first use."""
        if self.pixels is None:
            self.pixels = self._render()
        return self.pixels


def image_page(data: bytes) -> Page:
    import numpy as np

    from ...core.media import decode_image

    pixels = np.asarray(decode_image(data, field="image"))
    return Page(number=1, width=pixels.shape[1], height=pixels.shape[0], pixels=pixels)


def pdf_pages(data: bytes, pages: str | None, max_pages: int, dpi: int, text_layer: bool) -> tuple[list[Page], int]:
    """The selected pages of a PDF (rendered lazily) and the document's page count."""
    import pypdfium2 as pdfium

    from ...core.pdf_guard import pdf_text_pages
    from ...core.settings import get_settings

    # first opened and read in a capped child process: a page that unpacks to gigabytes is refused there
    count = pdf_text_pages(data, shown="image", pages=[]).count
    if count < 1:
        raise BadInput("image: the PDF has no pages")
    selected = parse_page_range(pages, count, max_pages)
    pdf_text_pages(data, shown="image", pages=selected, render=True)
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise BadInput(f"image: cannot open the PDF ({exc})",
                           hint="the file looks truncated, encrypted or damaged; send the complete, unencrypted PDF") from None
        max_pixels = get_settings().limits.max_image_pixels
        return [_pdf_page(pdf, index, dpi, max_pixels, text_layer) for index in selected], count


def _pdf_page(pdf, index: int, dpi: int, max_pixels: int, text_layer: bool) -> Page:
    import numpy as np

    try:
        page = pdf[index]
        width_pt, height_pt = page.get_size()
    except Exception as exc:  # noqa: BLE001 - pdfium's errors on a damaged page tree
        raise BadInput(f"image: cannot read page {index + 1} of the PDF ({exc})", hint="the file looks damaged") from None
    scale = dpi / 72.0
    if width_pt * height_pt * scale * scale > max_pixels:
        scale = (max_pixels / (width_pt * height_pt)) ** 0.5 * 0.999  # lower the resolution, never the limit
    width, height = max(1, round(width_pt * scale)), max(1, round(height_pt * scale))

    def render():
        with PDFIUM_LOCK:
            return np.asarray(page.render(scale=scale, rotation=0).to_pil().convert("RGB"))

    lines, text = _text_layer(page, scale, height_pt) if text_layer else (None, "")
    blank = lines is None and _is_empty(page)  # nothing drawn on it: nothing to render or OCR
    return Page(number=index + 1, width=width, height=height, text_lines=lines, layer_text=text, blank=blank,
                _render=render)


def _is_empty(page) -> bool:
    import pypdfium2.raw as pdfium_c

    return pdfium_c.FPDFPage_CountObjects(page) == 0


def layer_text(raw: str) -> str:
    r"""pdfium's page text as printed: CRLF to LF, its hyphenation mark (U+FFFE) back to a hyphen and a line break.

    >>> layer_text("packages and im\ufffeproving\r\nDebian\xa07")
    'packages and im-\nproving\nDebian 7'
    """
    return raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "-\n").replace("\xa0", " ").strip()


def _text_layer(page, scale: float, height_pt: float) -> tuple[list[Line] | None, str]:
    """The text layer's runs as lines (polygons in rendered pixels) and its text; None when it has (almost) none."""
    try:
        textpage = page.get_textpage()
        text = layer_text(textpage.get_text_range())
    except Exception:  # noqa: BLE001 - a page whose text layer pdfium cannot read is OCRed instead
        return None, ""
    if sum(not ch.isspace() for ch in text) < MIN_TEXT_LAYER_CHARS:
        return None, ""
    lines = []
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
        run = textpage.get_text_bounded(left, bottom, right, top).strip()
        if not run:
            continue
        x0, x1 = left * scale, right * scale
        y0, y1 = (height_pt - top) * scale, (height_pt - bottom) * scale
        polygon = [(round(x0, 1), round(y0, 1)), (round(x1, 1), round(y0, 1)),
                   (round(x1, 1), round(y1, 1)), (round(x0, 1), round(y1, 1))]
        lines.append(Line(polygon, " ".join(layer_text(run).split()), 1.0))
    return lines, text
