"""The first evaluation API (classification only), kept as thin wrappers over ``metrics`` and ``runner``.

``run_eval("sentiment", "data/eval/sentiment_en_customer.jsonl")`` loads the
file, runs the task's model over it in batches and returns accuracy, macro-F1,
per-class precision/recall/F1/support and the confusion matrix (scikit-learn).
New code calls ``modelbay.evaluate.runner.evaluate`` (any task).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from ..core.protocols import Labelled
from ..ml.metrics import classification_metrics


def load_labelled(path: str | Path, text_field: str = "text", label_field: str = "label") -> list[dict]:
    """Read a labelled table (CSV, TSV, JSONL, JSON, Parquet) into ``{"text", "label", ...}`` records (strings).

    >>> load_labelled("data/eval/sentiment_en_customer.jsonl")[0]["label"]   # doctest: +SKIP
    'negative'
    """
    from ..data.loaders import read_labelled_table

    records = read_labelled_table(path, input_field="text", target_field="label", input_col=text_field,
                                  target_col=label_field)
    for rec in records:
        rec["text"], rec["label"] = str(rec["text"]), str(rec["label"])
    return records


def evaluate_classification(pipe_or_task_name, records: list[dict], model: str | None = None, batch_size: int = 32) -> dict[str, Any]:
    """Run a classification task over ``records`` (``{"text", "label"}``) and score it.

    ``pipe_or_task_name`` is a task name (loaded with ``model`` or the task's
    default) or an already loaded task/pipeline (anything callable on a list of
    task inputs, or exposing ``.task``). Returns the metrics of
    :func:`classification_metrics` plus ``task``, ``model``, ``seconds`` and the
    ``errors`` (misclassified records, at most 50).

    >>> evaluate_classification("sentiment", [{"text": "great!", "label": "positive"}])["accuracy"]  # doctest: +SKIP
    1.0
    """
    from ..core.loading import load_task

    if not records:
        raise BadInput("no records to evaluate")
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or "text" not in rec or "label" not in rec:
            raise BadInput(f"record {i}: expected an object with 'text' and 'label', got {rec!r:.80}")
    if isinstance(pipe_or_task_name, str):
        task = load_task(pipe_or_task_name, model)
    else:
        task = getattr(pipe_or_task_name, "task", pipe_or_task_name)
    texts = [str(r["text"]) for r in records]
    truth = [str(r["label"]) for r in records]
    start = time.perf_counter()
    predicted: list[str] = []
    for i in range(0, len(texts), batch_size):
        items = [task.coerce(t) for t in texts[i:i + batch_size]]
        predicted.extend(out.label for out in task(items))
    seconds = time.perf_counter() - start
    known = list((task.labels if isinstance(task, Labelled) else None) or [])
    unknown = sorted(set(truth) - set(known)) if known else []
    if unknown:
        raise BadInput(f"labels {unknown} in the data are not labels of the model ({known})",
                       hint="map the data's labels to the model's, or pick another model")
    metrics = classification_metrics(truth, predicted, labels=known or None)
    spec = getattr(getattr(task, "model", None), "spec", None)
    metrics.update(
        task=getattr(task, "name", str(pipe_or_task_name)),
        model=spec.name if spec is not None else model,
        seconds=round(seconds, 3),
        errors=[{"text": t, "label": y, "predicted": p} for t, y, p in zip(texts, truth, predicted) if y != p][:50],
    )
    return metrics


def run_eval(task: str, data_path: str, model: str | None = None, text_field: str = "text", label_field: str = "label") -> dict[str, Any]:
    """The metrics of ``modelbay.evaluate.runner.evaluate`` flattened, with ``task``, ``model``, ``data``, ``errors``.

    >>> run_eval("sentiment", "data/eval/sentiment_zh_reviews.jsonl", "sentiment-snownlp")["accuracy"]  # doctest: +SKIP
    0.8...
    """
    from .runner import evaluate

    result = evaluate(task, data_path, model=model, options={"text_col": text_field, "label_col": label_field})
    errors = [{"text": e["input"]["text"] if isinstance(e["input"], dict) else e["input"], "label": e["truth"],
               "predicted": e["prediction"]} for e in result["worst_errors"]]
    return {**result["metrics"], "task": result["task"], "model": result["model"], "data": str(data_path),
            "seconds": result["seconds"], "ci": result["ci"], "fingerprint": result["fingerprint"], "errors": errors}
