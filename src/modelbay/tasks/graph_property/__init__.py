"""Molecule and graph property prediction: a GIN graph neural network over RDKit molecular graphs."""

from . import task  # noqa: F401 - registers the tasks
