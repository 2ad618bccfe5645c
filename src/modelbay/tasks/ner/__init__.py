"""Named entities: spaCy for English, a character CRF for Chinese; trainers for both."""

from . import task  # noqa: F401 - registers the task
