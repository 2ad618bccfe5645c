"""Evaluation: standard metrics for a task's model on labelled data."""

from .classification import classification_metrics, evaluate_classification, load_labelled, run_eval

__all__ = ["classification_metrics", "evaluate_classification", "load_labelled", "run_eval"]
