"""Entity linking: mentions in text to the entries of a user's entity table."""
from . import task  # noqa: F401  (registers the task)
