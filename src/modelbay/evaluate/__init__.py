"""Evaluation: standard metrics for any task's model on labelled data, and the HTML report.

``evaluate(task_or_model, data)`` (``runner``) scores a model with its task's metric family
(``metrics``); ``write_report(result, out_dir)`` (``report``) writes report.html, headline.png
and metrics.json. The ``classification`` functions are the first, classification-only API.
"""

from .classification import classification_metrics, evaluate_classification, load_labelled, run_eval
from .report import write_report
from .runner import evaluate

__all__ = ["classification_metrics", "evaluate", "evaluate_classification", "load_labelled", "run_eval", "write_report"]
