"""OCR and document extraction: RapidOCR PP-OCRv4 (English, Chinese) on images and PDF pages, then typed key fields."""

from . import document, task  # noqa: F401 - register the tasks
