"""``modelbay eval MODEL --data live.csv --drift``: how far a live table has moved from the training data.

Any task that declares ``DriftReporting`` (``modelbay.core.protocols``) gets it: the task reads the
table (``load_unlabelled``: the label column is optional) and reports the drift of every input
feature (``drift_report``). When every row has its label, the usual metrics are computed too and
the drift is added to that result; otherwise the result holds the drift alone, with the largest
feature drift as its headline.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from ..core.protocols import DriftReporting
from ..ml.metrics.common import clean


def drift_tasks() -> list[str]:
    from ..core.registry import all_tasks

    return sorted(cls.name for cls in all_tasks() if issubclass(cls, DriftReporting))


def evaluate_drift(task_name: str, model: str | None, data: Path | str, options: dict[str, Any],
                   score: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The drift report of ``data``, and the metrics too when every record has its label: ``score(task, records,
    data=, data_fingerprint=)`` computes them (``runner.evaluate_records`` with the caller's settings)."""
    from ..core.loading import load_task
    from ..core.registry import get_task
    from ..core.version import __version__
    from ..ml.fingerprint import fingerprint

    cls = get_task(task_name)
    if not issubclass(cls, DriftReporting):
        raise BadInput(f"task {cls.name!r} has no drift report", hint=f"tasks with one: {', '.join(drift_tasks()) or 'none'}")
    records = cls.load_unlabelled(data, options)
    if not records:
        raise BadInput(f"{data}: no rows to compare")
    task = load_task(cls.name, model)
    start = time.perf_counter()
    report = task.drift_report(records)
    seconds = time.perf_counter() - start
    data_fingerprint = fingerprint(data if isinstance(data, Path) else records)
    if all(cls.target_field in rec for rec in records):
        result = score(task, records, data=str(data), data_fingerprint=data_fingerprint)
        result["drift"] = report
        return result
    return clean({
        "task": cls.name, "model": task.model.spec.name if task.model is not None else None, "family": "drift",
        "data": str(data), "fingerprint": data_fingerprint, "n": len(records), "seconds": round(seconds, 3),
        "headline": "max_drift", "value": report["max"],
        "metrics": {"headline": "max_drift", "max_drift": report["max"],
                    **{f"features_{band}": count for band, count in report.get("counts", {}).items()}},
        "drift": report, "options": {k: v for k, v in options.items() if isinstance(v, (str, int, float, bool))},
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "modelbay_version": __version__,
    })


def drift_html(drift: dict[str, Any]) -> str:
    """The report's drift section: one row per feature, largest first, with its band."""
    bands = ", ".join(f"{b} {rule}" for b, rule in drift.get("bands", {}).items())
    rows = "".join(
        f"<tr><td>{html.escape(str(f['feature']))}</td><td>{html.escape(str(f.get('type', '')))}</td>"
        f'<td class="num">{f["value"]:.4f}</td><td>{html.escape(str(f["band"]))}</td>'
        f'<td class="num">{f.get("missing_share", {}).get("reference", "")}</td>'
        f'<td class="num">{f.get("missing_share", {}).get("live", "")}</td></tr>'
        for f in drift.get("features", []))
    reference = drift.get("reference") or {}
    return (f"<h2>Drift ({html.escape(str(drift.get('method', '')).upper())} per feature)</h2>"
            f'<div class="meta">{drift.get("n")} live rows against {reference.get("rows")} training rows'
            f" ({html.escape(str(reference.get('data')))}); bands: {html.escape(bands)}</div>"
            "<table><tr><th>feature</th><th>type</th><th>value</th><th>band</th><th>missing (training)</th>"
            f"<th>missing (live)</th></tr>{rows}</table>")
