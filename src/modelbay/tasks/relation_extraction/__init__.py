"""Relation extraction: (subject, relation, object) triples into a knowledge graph."""
from . import task  # noqa: F401  (registers the task)
