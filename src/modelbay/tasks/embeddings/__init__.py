"""Embeddings: sentence vectors (sentence-transformers models, E5)."""

from . import task  # noqa: F401 - registers the task
