"""Anomaly detection: whole series (robust z-scores of STL residuals, change points), streaming points, records."""

from . import task  # noqa: F401 - registers the task
