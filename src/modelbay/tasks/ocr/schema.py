"""Input and output of ``ocr`` (``document-extraction`` reads the same input and adds fields)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ...core.task import TaskInput, TaskOutput


class OcrInput(TaskInput):
    # bytes travel in JSON as base64 both ways, so a dumped input validates back to the same file
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    image: bytes | str = Field(..., description="an image (JPEG/PNG/WebP/GIF/BMP/TIFF) or a PDF: bytes, or base64 (a data: URL is fine)")
    pages: str | int | None = Field(None, description='PDF pages, 1-based, e.g. "1-3,5,8-" or 2; null: all (up to max_pages)')
    max_pages: int = Field(10, ge=1, le=200, description="more selected PDF pages than this is an error (bounds the work)")
    dpi: int = Field(200, ge=50, le=600, description="PDF render resolution; lowered when a page would exceed the pixel limit")
    text_layer: bool = Field(True, description="use a PDF page's own text layer when it has one (exact and fast); false: always OCR")
    min_confidence: float = Field(0.5, ge=0.0, le=1.0, description="drop recognised lines below this confidence")


class OcrLine(BaseModel):
    text: str = Field(..., description="the line's text")
    confidence: float = Field(..., description="recognition confidence 0..1 (1.0 for a PDF text layer)")
    polygon: list[list[float]] = Field(..., description="4 [x, y] points in page pixels, clockwise from the text's top-left (rotated text: a rotated quadrilateral)")
    box: list[float] = Field(..., description="axis-aligned [x0, y0, x1, y1] around the polygon, pixels")
    angle_deg: float = Field(..., description="direction of the text's baseline, degrees counter-clockwise from horizontal")


class OcrPage(BaseModel):
    page: int = Field(..., description="1-based page number (1 for an image)")
    width: int = Field(..., description="page width in pixels (PDF pages: as rendered at dpi)")
    height: int = Field(..., description="page height in pixels")
    source: Literal["ocr", "text-layer"] = Field(..., description="where the text came from")
    text: str = Field(..., description="the page's lines in reading order: rows joined by newlines")
    lines: list[OcrLine] = Field(..., description="lines in reading order (top to bottom, left to right within a row)")


class OcrOutput(TaskOutput):
    text: str = Field(..., description="all pages' text, pages separated by a blank line")
    kind: Literal["image", "pdf"] = Field(..., description="what the input was")
    page_count: int = Field(..., description="pages in the document (1 for an image); pages lists the selected ones")
    pages: list[OcrPage] = Field(..., description="the selected pages, in order")

    def summary(self) -> str:
        n = sum(len(p.lines) for p in self.pages)
        first = self.text.strip().splitlines()[0][:60] if self.text.strip() else ""
        return f"{len(self.pages)} page(s), {n} lines: {first!r}"
