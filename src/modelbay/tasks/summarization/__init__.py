"""Summarization: extractive (TextRank/LexRank over E5 sentence embeddings) or abstractive (the shared LLM)."""

from . import task  # noqa: F401 - registers the task
