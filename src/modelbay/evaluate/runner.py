"""One evaluator for every task: ``evaluate("sentiment", "holdout.jsonl")``.

The task says how (``Task.metric_family``, ``Task.target_field``, ``Task.load_data``,
``Task.prediction``); this module loads the data, runs the model in batches with progress, scores
the predictions with the family from ``metrics``, adds a bootstrap confidence interval for the
headline and the worst errors, and returns plain JSON-ready data that ``report.write_report``
turns into a report.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from ..core.task import Progress, Task
from ..ml.metrics.common import clean

#: how many of the worst errors a result keeps
MAX_ERRORS = 20
#: longest text shown for an input or prediction in worst_errors
MAX_SHOWN_CHARS = 500


def evaluable_tasks() -> list[str]:
    from ..core.registry import all_tasks

    return sorted(cls.name for cls in all_tasks() if cls.metric_family)


def evaluate(task_or_model: str, data: str | Path, model: str | None = None, options: dict[str, Any] | None = None,
             progress: Progress = False, batch_size: int = 32, *, n_bootstrap: int = 1000, seed: int = 0,
             alpha: float = 0.05) -> dict[str, Any]:
    """Score a model on labelled data: what ``modelbay eval TASK_OR_MODEL --data FILE`` runs.

    ``task_or_model`` is a task name or alias (with ``model`` or its default model) or a model
    name (a catalog or trained model, which stands for its task). ``options`` go to the task's
    ``load_data`` (``text_col``, ``label_col``, ``format``…), fill Input fields every record lacks
    (``language``, ``beam_size``…) and tune the metrics (``k``, ``season``, ``normalize``,
    ``headline``…). ``progress``: False, True (Rich bar) or ``callback(stage, done, total)``.

    >>> r = evaluate("sentiment", "data/eval/sentiment_en_customer.jsonl")     # doctest: +SKIP
    >>> r["headline"], round(r["value"], 3), r["ci"]["low"] < r["value"]        # doctest: +SKIP
    ('accuracy', 0.943, True)
    """
    from ..core.loading import load_task, task_and_model
    from ..core.registry import get_task
    from ..data.loaders import fingerprint

    options = dict(options or {})
    task_name, model = task_and_model(task_or_model, model)
    cls = get_task(task_name)
    _check_evaluable(cls)
    data = Path(data).expanduser()
    if not data.exists():
        raise BadInput(f"no such data file or folder: {data}", hint="pass labelled data with --data")
    records = cls.load_data(data, options)
    items = _inputs(cls, records, options, where=str(data))  # bad records fail here, before the model loads
    task = load_task(cls.name, model)
    return evaluate_records(task, records, options=options, progress=progress, batch_size=batch_size,
                            n_bootstrap=n_bootstrap, seed=seed, alpha=alpha, data=str(data),
                            data_fingerprint=fingerprint(data), items=items)


def _check_evaluable(cls: type[Task]) -> None:
    if not cls.metric_family:
        raise BadInput(f"task {cls.name!r} cannot be evaluated yet", hint=f"evaluable tasks: {', '.join(evaluable_tasks())}")


def _inputs(cls: type[Task], records: Sequence[dict], options: dict, where: str) -> list | None:
    """Records minus the target, validated into the task's Input (None for media tasks: done per batch)."""
    if not records:
        raise BadInput(f"{where}: no records to evaluate")
    fields = set(cls.Input.model_fields)
    defaults = {k: v for k, v in options.items() if k in fields and k != cls.primary_field}
    raw = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or cls.target_field not in rec:
            found = sorted(rec) if isinstance(rec, dict) else type(rec).__name__
            raise BadInput(f"{where}: record {i + 1} has no {cls.target_field!r} (the truth); it has {found}")
        raw.append({**defaults, **{k: v for k, v in rec.items() if k in fields and k != cls.target_field}})
    if cls.media_fields or _scores_records(cls):
        return None
    return [cls.coerce(r, allow_paths=True, field=f"{where}: record {i + 1}") for i, r in enumerate(raw)]


def _scores_records(cls: type[Task]) -> bool:
    """Whether the task scores records itself (``Task.eval_predictions``) instead of running inputs."""
    return cls.eval_predictions is not Task.eval_predictions


def evaluate_records(task: Task, records: Sequence[dict], *, options: dict[str, Any] | None = None,
                     progress: Progress = False, batch_size: int = 32, n_bootstrap: int = 1000, seed: int = 0,
                     alpha: float = 0.05, data: str | None = None, data_fingerprint: str | None = None,
                     items: list | None = None) -> dict[str, Any]:
    """Evaluate a loaded task on labelled records (``Task.load_data``'s output); see ``evaluate``."""
    from ..core.version import __version__
    from ..data.loaders import fingerprint
    from ..ml.metrics import bootstrap_ci, get_family
    from ..ml.progress import reporter

    cls = type(task)
    _check_evaluable(cls)
    options = dict(options or {})
    where = data or "records"
    if items is None:
        items = _inputs(cls, records, options, where)
    fields = set(cls.Input.model_fields)
    defaults = {k: v for k, v in options.items() if k in fields and k != cls.primary_field}
    truths = [rec[cls.target_field] for rec in records]
    inputs = [{k: v for k, v in rec.items() if k != cls.target_field} for rec in records]
    n = len(records)
    outputs: list = []
    scored: list = []
    own_scores = _scores_records(cls)
    start = time.perf_counter()
    with reporter(progress) as rep:
        tick = rep.stage(f"eval {cls.name}", total=n)
        for lo in range(0, n, batch_size):
            if own_scores:
                part = list(records[lo:lo + batch_size])
                scored.extend(task.eval_predictions(part))
                outputs.extend([None] * len(part))
                tick(len(outputs))
                continue
            if items is not None:
                batch = items[lo:lo + batch_size]
            else:  # media: read and validate one batch at a time, so a large set never sits in memory
                batch = [cls.coerce({**defaults, **{k: v for k, v in inputs[i].items() if k in fields}},
                                    allow_paths=True, field=f"{where}: record {i + 1}")
                         for i in range(lo, min(lo + batch_size, n))]
            outputs.extend(task(batch))
            tick(len(outputs))
    seconds = time.perf_counter() - start
    predictions = scored if own_scores else [task.prediction(out) for out in outputs]
    family = cls.metric_family
    fn = get_family(family)
    extra: dict[str, Any] = {**options, "outputs": outputs, "inputs": inputs, "primary_field": cls.primary_field}
    if family == "classification":
        truths = [str(t) for t in truths]
        extra["labels"] = _model_labels(task, outputs, truths)
    metrics = fn(truths, predictions, extra)
    ci = (bootstrap_ci(fn, truths, predictions, n=n_bootstrap, seed=seed, alpha=alpha, extra=extra, result=metrics)
          if n_bootstrap else None)
    spec = getattr(getattr(task, "model", None), "spec", None)
    headline = metrics["headline"]
    return clean({
        "task": cls.name,
        "model": spec.name if spec is not None else None,
        "family": family,
        "data": data,
        "fingerprint": data_fingerprint or fingerprint(records),
        "n": n,
        "headline": headline,
        "value": metrics[headline],
        "ci": ci,
        "metrics": metrics,
        "worst_errors": worst_errors(fn, truths, predictions, extra, inputs, cls.primary_field),
        "seconds": round(seconds, 3),
        "items_per_second": round(n / seconds, 2) if seconds > 0 else None,
        "batch_size": batch_size,
        "options": {k: v for k, v in options.items() if isinstance(v, (str, int, float, bool, list, type(None)))},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "modelbay_version": __version__,
    })


def _model_labels(task: Task, outputs: list, truths: list[str]) -> list[str] | None:
    """The model's labels (from its outputs' ``scores`` or its backend); data labels it lacks are an error."""
    known = list(getattr(outputs[0], "scores", None) or []) if outputs else []
    known = known or [str(x) for x in (getattr(getattr(task, "backend", None), "labels", None) or [])]
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
