"""Content generation: product descriptions, marketing copy and customer replies from a template library (en, zh)."""

from . import task  # noqa: F401 - registers the task
