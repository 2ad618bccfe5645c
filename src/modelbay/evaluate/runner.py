"""One evaluator for every task: ``evaluate("sentiment", "holdout.jsonl")``.

The task says how, by declaring ``Evaluable`` (``metric_family``, ``target_field``, ``load_data``,
``prediction``), ``ScoresRecords`` when it scores the records themselves and ``Labelled`` when its
model has a fixed set of labels (``modelbay.core.protocols``). This module loads the data, runs the
model in batches with progress, scores the predictions with the family from ``metrics``, adds a
bootstrap confidence interval for the headline and the worst errors, and returns plain JSON-ready
data that ``report.write_report`` turns into a report.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from ..core.protocols import Evaluable, Labelled, Progress, ScoresRecords
from ..core.task import Task
from ..core.types import ClassificationOutput
from ..data.databases import data_source
from ..ml.metrics.common import clean

#: how many of the worst errors a result keeps
MAX_ERRORS = 20
#: longest text shown for an input or prediction in worst_errors
MAX_SHOWN_CHARS = 500


def evaluable_tasks() -> list[str]:
    from ..core.registry import tasks_with

    return tasks_with("eval")


def evaluate(task_or_model: str, data: str | Path, model: str | None = None, options: dict[str, Any] | None = None,
             progress: Progress = False, batch_size: int = 32, *, n_bootstrap: int = 1000, seed: int = 0,
             alpha: float = 0.05, drift: bool = False) -> dict[str, Any]:
    """Score a model on labelled data: what ``modelbay eval TASK_OR_MODEL --data FILE`` runs.

    ``task_or_model`` is a task name or alias (with ``model`` or its default model) or a model
    name (a catalog or trained model, which stands for its task). ``options`` go to the task's
    ``load_data`` (``text_col``, ``label_col``, ``format``…), fill Input fields every record lacks
    (``language``, ``beam_size``…) and tune the metrics (``k``, ``season``, ``normalize``,
    ``headline``…). ``progress``: False, True (Rich bar) or ``callback(stage, done, total)``.
    ``drift``: also compare the data with the model's training data (tasks declaring ``DriftReporting``;
    the labels are then optional: ``evaluate/drift.py``).

    >>> r = evaluate("sentiment", "data/eval/sentiment_en_customer.jsonl")     # doctest: +SKIP
    >>> r["headline"], round(r["value"], 3), r["ci"]["low"] < r["value"]        # doctest: +SKIP
    ('accuracy', 0.943, True)
    """
    from ..core.loading import load_task, task_and_model
    from ..core.registry import get_task
    from ..ml.fingerprint import fingerprint

    options = dict(options or {})
    task_name, model = task_and_model(task_or_model, model)
    cls = get_task(task_name)
    _check_evaluable(cls)
    data = data_source(data)
    if isinstance(data, Path) and not data.exists():
        raise BadInput(f"no such data file or folder: {data}", hint="pass labelled data with --data")
    if drift:
        from .drift import evaluate_drift

        return evaluate_drift(cls.name, model, data, options, partial(
            evaluate_records, options=options, progress=progress, batch_size=batch_size, n_bootstrap=n_bootstrap,
            seed=seed, alpha=alpha))
    records = cls.load_data(data, options)
    items = _inputs(cls, records, options, where=str(data))  # bad records fail here, before the model loads
    task = load_task(cls.name, model)
    return evaluate_records(task, records, options=options, progress=progress, batch_size=batch_size,
                            n_bootstrap=n_bootstrap, seed=seed, alpha=alpha, data=str(data),
                            data_fingerprint=fingerprint(data if isinstance(data, Path) else records), items=items)


def _check_evaluable(cls: type[Task]) -> None:
    if not issubclass(cls, Evaluable):
        raise BadInput(f"task {cls.name!r} cannot be evaluated yet", hint=f"evaluable tasks: {', '.join(evaluable_tasks())}")


def _input_defaults(cls: type[Task], options: dict) -> dict:
    """Options that fill an Input field every record lacks (``language``, ``beam_size``…)."""
    fields = set(cls.Input.model_fields)
    return {k: v for k, v in options.items() if k in fields and k != cls.primary_field}


def _inputs(cls: type[Task], records: Sequence[dict], options: dict, where: str) -> list | None:
    """Records minus the target, validated into the task's Input (None for media tasks: done per batch).

    Tasks that score the records themselves (``ScoresRecords``) run no inputs: None for them too.
    """
    if not records:
        raise BadInput(f"{where}: no records to evaluate")
    fields = set(cls.Input.model_fields)
    defaults = _input_defaults(cls, options)
    raw = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or cls.target_field not in rec:
            found = sorted(rec) if isinstance(rec, dict) else type(rec).__name__
            raise BadInput(f"{where}: record {i + 1} has no {cls.target_field!r} (the truth); it has {found}")
        raw.append({**defaults, **{k: v for k, v in rec.items() if k in fields and k != cls.target_field}})
    if cls.media_fields or issubclass(cls, ScoresRecords):
        return None
    return [cls.coerce(r, allow_paths=True, field=f"{where}: record {i + 1}") for i, r in enumerate(raw)]


def evaluate_records(task: Task, records: Sequence[dict], *, options: dict[str, Any] | None = None,
                     progress: Progress = False, batch_size: int = 32, n_bootstrap: int = 1000, seed: int = 0,
                     alpha: float = 0.05, data: str | None = None, data_fingerprint: str | None = None,
                     items: list | None = None) -> dict[str, Any]:
    """Evaluate a loaded task on labelled records (``load_data``'s output); see ``evaluate``."""
    from ..core.version import __version__
    from ..ml.fingerprint import fingerprint

    cls = type(task)
    _check_evaluable(cls)
    options = dict(options or {})
    where = data or "records"
    if items is None:
        items = _inputs(cls, records, options, where)
    inputs = [{k: v for k, v in rec.items() if k != cls.target_field} for rec in records]
    n = len(records)
    start = time.perf_counter()
    outputs, predictions = _predict(task, records, _Batches(items, inputs, options, where), progress, batch_size)
    seconds = time.perf_counter() - start
    truths = [rec[cls.target_field] for rec in records]
    metrics, ci, errors = _score(task, truths, predictions, outputs, inputs, options,
                                 n_bootstrap=n_bootstrap, seed=seed, alpha=alpha)
    headline = metrics["headline"]
    return clean({
        "task": cls.name,
        "model": task.model.spec.name if task.model is not None else None,
        "family": cls.metric_family,
        "data": data,
        "fingerprint": data_fingerprint or fingerprint(records),
        "n": n,
        "headline": headline,
        "value": metrics[headline],
        "ci": ci,
        "metrics": metrics,
        "worst_errors": errors,
        "seconds": round(seconds, 3),
        "items_per_second": round(n / seconds, 2) if seconds > 0 else None,
        "batch_size": batch_size,
        "options": {k: v for k, v in options.items() if isinstance(v, (str, int, float, bool, list, type(None)))},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "modelbay_version": __version__,
    })


@dataclass
class _Batches:
    """The validated inputs (``items``), or what validates a batch of them at a time (media tasks)."""

    items: list | None
    inputs: list[dict]
    options: dict
    where: str

    def get(self, cls: type[Task], lo: int, hi: int) -> list:
        if self.items is not None:
            return self.items[lo:hi]
        # media: read and validate one batch at a time, so a large set never sits in memory
        fields, defaults = set(cls.Input.model_fields), _input_defaults(cls, self.options)
        return [cls.coerce({**defaults, **{k: v for k, v in self.inputs[i].items() if k in fields}},
                           allow_paths=True, field=f"{self.where}: record {i + 1}") for i in range(lo, hi)]


def _predict(task: Task, records: Sequence[dict], batches: _Batches, progress: Progress,
             batch_size: int) -> tuple[list, list]:
    """Outputs (None for ``ScoresRecords`` tasks) and predictions of every record, a batch at a time."""
    from ..ml.progress import reporter

    n = len(records)
    outputs: list = []
    scored: list = []
    with reporter(progress) as rep:
        tick = rep.stage(f"eval {task.name}", total=n)
        for lo in range(0, n, batch_size):
            hi = min(lo + batch_size, n)
            if isinstance(task, ScoresRecords):
                scored.extend(task.eval_predictions(list(records[lo:hi])))
                outputs.extend([None] * (hi - lo))
            else:
                outputs.extend(task(batches.get(type(task), lo, hi)))
            tick(len(outputs))
    if isinstance(task, ScoresRecords):
        return outputs, scored
    return outputs, [task.prediction(out) for out in outputs]


def _score(task: Task, truths: list, predictions: list, outputs: list, inputs: list[dict], options: dict, *,
           n_bootstrap: int, seed: int, alpha: float) -> tuple[dict[str, Any], dict | None, list[dict[str, Any]]]:
    """The family's metrics, the headline's bootstrap CI (None with ``n_bootstrap=0``) and the worst errors."""
    from ..ml.metrics import bootstrap_ci, get_family

    cls = type(task)
    fn = get_family(cls.metric_family)
    extra: dict[str, Any] = {**options, "outputs": outputs, "inputs": inputs, "primary_field": cls.primary_field}
    if cls.metric_family == "classification":
        truths = [str(t) for t in truths]
        extra["labels"] = _model_labels(task, outputs, truths)
    metrics = fn(truths, predictions, extra)
    ci = (bootstrap_ci(fn, truths, predictions, n=n_bootstrap, seed=seed, alpha=alpha, extra=extra, result=metrics)
          if n_bootstrap else None)
    return metrics, ci, worst_errors(fn, truths, predictions, extra, inputs, cls.primary_field)


def _model_labels(task: Task, outputs: list, truths: list[str]) -> list[str] | None:
    """The model's labels (``Labelled``, else its outputs' ``scores``); data labels it lacks are an error."""
    known = (task.labels if isinstance(task, Labelled) else None) or []
    if not known and outputs and isinstance(outputs[0], ClassificationOutput):
        known = list(outputs[0].scores)
    if not known:
        return None
    unknown = sorted(set(truths) - set(known))
    if unknown:
        raise BadInput(f"labels {unknown} in the data are not labels of the model ({known})",
                       hint="map the data's labels to the model's, or pick another model with --model")
    return known


def worst_errors(fn, truths: Sequence, predictions: Sequence, extra: dict, inputs: Sequence[dict],
                 primary_field: str = "text", limit: int = MAX_ERRORS) -> list[dict[str, Any]]:
    """The wrong items, worst first (most confident wrong label, highest item WER…), at most ``limit``."""
    severity_fn = getattr(fn, "item_severity", None)
    if severity_fn is None:
        return []
    severity = severity_fn(truths, predictions, extra)
    wrong = sorted((i for i, s in enumerate(severity) if s is not None), key=lambda i: (-severity[i], i))[:limit]
    return [{"index": i, "input": _shown(inputs[i], primary_field), "truth": _shown(truths[i]),
             "prediction": _shown(predictions[i]), "severity": float(severity[i])} for i in wrong]


def _shown(value: Any, primary_field: str | None = None) -> Any:
    """A short JSON-ready view of an input, truth or prediction for reports."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        if primary_field is not None and set(value) == {primary_field}:
            return _shown(value[primary_field])
        return {str(k): _shown(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shown(v) for v in value[:50]]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and len(value) > MAX_SHOWN_CHARS:
        return value[:MAX_SHOWN_CHARS] + "…"
    return value
