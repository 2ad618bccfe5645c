"""Risk scoring (fraud, credit, churn): calibrated LightGBM risk, a decision by a chosen threshold, reasons, drift."""

from . import task  # noqa: F401 - registers the task
