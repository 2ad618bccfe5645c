"""Chat: a small instruct LLM (SmolLM2 GGUF run with transformers), streaming tokens."""

from . import task  # noqa: F401 - registers the task
