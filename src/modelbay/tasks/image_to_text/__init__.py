"""Image to text: a caption model when installed, else a description composed from classification, detection and OCR."""

from . import task  # noqa: F401 - registers the task
