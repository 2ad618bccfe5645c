"""Translation: English <-> Chinese through the shared LLM; Marian, NLLB and M2M checkpoints through the catalog."""

from . import task  # noqa: F401 - registers the task
