"""Recommendation: implicit-feedback recommenders (ALS, BPR, item-kNN, popularity), similar items, real-time events."""

from . import similar, task  # noqa: F401 - registers the recommendation and similar-items tasks
