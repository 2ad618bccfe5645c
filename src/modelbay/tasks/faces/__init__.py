"""Faces: detection (boxes, landmarks, embeddings, blur) and verification (1:1, and 1:N against a SQLite gallery)."""

from . import detect, verify  # noqa: F401 - registers face-detection and face-verification
