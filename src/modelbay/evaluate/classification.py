"""Metrics for classification tasks (sentiment, text-classification) on labelled files.

``run_eval("sentiment", "data/eval/sentiment_en_customer.jsonl")`` loads the
file, runs the task's model over it in batches and returns accuracy, macro-F1,
per-class precision/recall/F1/support and the confusion matrix (scikit-learn).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from ..core.errors import BadInput


def load_labelled(path: str | Path, text_field: str = "text", label_field: str = "label") -> list[dict]:
    """Read ``.jsonl`` (one object a line) or ``.csv`` (header row) into ``{"text", "label", ...}`` records.

    >>> load_labelled("data/eval/sentiment_en_customer.jsonl")[0]["label"]   # doctest: +SKIP
    'negative'
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"no such data file: {path}", hint="pass a .jsonl or .csv file with text and label columns")
    suffix = path.suffix.lower()
    rows: list[tuple[int, dict]] = []
    if suffix in (".jsonl", ".ndjson"):
        from ..data.corpora import iter_jsonl

        rows = list(iter_jsonl(path))
    elif suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            rows = [(n, row) for n, row in enumerate(reader, 2)]
    else:
        raise BadInput(f"{path}: unsupported file type {suffix!r}", hint="use .jsonl or .csv")
    records = []
    for n, row in rows:
        for name in (text_field, label_field):
            if row.get(name) in (None, ""):
                raise BadInput(f"{path}:{n}: missing field {name!r}; fields present: {sorted(row)}",
                               hint="choose the columns with text_field/label_field (--text-field/--label-field)")
        rec = {k: v for k, v in row.items() if k not in (text_field, label_field)}
        rec.update(text=str(row[text_field]), label=str(row[label_field]))
        records.append(rec)
    if not records:
        raise BadInput(f"{path}: no records")
    return records


def classification_metrics(y_true: list[str], y_pred: list[str], labels: list[str] | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support, confusion matrix (rows = true).

    >>> m = classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    >>> m["accuracy"], round(m["macro_f1"], 4), m["confusion_matrix"]
    (0.75, 0.7333, [[1, 1], [0, 2]])
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    if len(y_true) != len(y_pred) or not y_true:
        raise BadInput(f"need equal, non-zero numbers of true and predicted labels, got {len(y_true)} and {len(y_pred)}")
    labels = labels or sorted(set(y_true) | set(y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
        "labels": labels,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


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
    known = list(getattr(getattr(task, "backend", None), "labels", []) or [])
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
    """What ``modelbay eval TASK --data FILE [--model M]`` runs: load the file, evaluate, add the file name.

    >>> run_eval("sentiment", "data/eval/sentiment_zh_reviews.jsonl", "sentiment-snownlp")["accuracy"]  # doctest: +SKIP
    0.8...
    """
    records = load_labelled(data_path, text_field=text_field, label_field=label_field)
    metrics = evaluate_classification(task, records, model=model)
    metrics["data"] = str(data_path)
    return metrics
