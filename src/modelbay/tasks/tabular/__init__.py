"""Tabular classification and regression: LightGBM with calibration or conformal intervals."""

from . import task  # noqa: F401 - registers the tasks
