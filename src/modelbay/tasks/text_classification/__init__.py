"""Text classification and sentiment: an MLP head on frozen E5 embeddings, or a fine-tuned encoder."""

from . import sentiment, task  # noqa: F401 - registers the tasks
