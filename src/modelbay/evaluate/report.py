"""``write_report(result, out_dir)``: a self-contained HTML report, the headline chart and metrics.json.

The HTML has no external assets (charts are inline base64 PNGs, styles inline), so it can be
mailed, attached to a ticket or opened offline.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from ..ml.metrics.common import clean

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:.9rem}.headline{font-size:2.2rem;font-weight:600;margin:1rem 0 .2rem}
.ci{color:#444}table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts img{max-width:100%;margin:.5rem 1rem .5rem 0;border:1px solid #eee}
.input{max-width:520px;overflow-wrap:anywhere}
"""


def write_report(result: dict[str, Any], out_dir: str | Path) -> dict[str, str]:
    """Write ``report.html``, ``headline.png`` and ``metrics.json`` into ``out_dir``; return their paths.

    >>> paths = write_report(evaluate("sentiment", "holdout.jsonl"), "eval-reports/run1")   # doctest: +SKIP
    >>> sorted(paths)                                                                      # doctest: +SKIP
    ['headline_png', 'html', 'metrics_json']
    """
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    result = clean(result)
    charts = build_charts(result)
    paths = {"html": out / "report.html", "headline_png": out / "headline.png", "metrics_json": out / "metrics.json"}
    shown = {k: str(v) for k, v in paths.items()}
    paths["headline_png"].write_bytes(charts["headline"][1])
    paths["metrics_json"].write_text(json.dumps({**result, "report": shown}, ensure_ascii=False, indent=2) + "\n",
                                     encoding="utf-8")
    paths["html"].write_text(render_html(result, charts), encoding="utf-8")
    return shown


def build_charts(result: dict[str, Any]) -> dict[str, tuple[str, bytes]]:
    """``{key: (title, png)}``; ``"headline"`` is always there (the confusion matrix for classification)."""
    from . import charts as ch

    m = result.get("metrics", {})
    family = result.get("family", "")
    out: dict[str, tuple[str, bytes]] = {}
    ci = result.get("ci") or {}
    interval = (ci.get("low"), ci.get("high")) if ci else None
    if m.get("confusion_matrix") and m.get("labels"):
        out["headline"] = ("Confusion matrix", ch.confusion_matrix_png(m["labels"], m["confusion_matrix"]))
        out["metrics"] = ("Metrics", ch.bars_png(ch.chart_values(family, m), "Metrics", m.get("headline"), interval))
    elif family == "ner" and m.get("per_type"):
        f1 = {t: v["f1"] for t, v in m["per_type"].items()}
        out["headline"] = ("F1 by entity type", ch.bars_png({"all (micro)": m["f1"], **f1}, "Entity F1 by type",
                                                           "all (micro)", interval))
    else:
        values = ch.chart_values(family, m) or {"n": float(result.get("n", 0))}
        out["headline"] = ("Metrics", ch.bars_png(values, f"{family} metrics", m.get("headline"), interval))
    curves = m.get("curves") or {}
    if curves.get("roc"):
        out["roc"] = ("ROC curves", ch.curves_png(curves["roc"], "roc"))
    if curves.get("pr"):
        out["pr"] = ("Precision-recall curves", ch.curves_png(curves["pr"], "pr"))
    drifted = {f["feature"]: f["value"] for f in (result.get("drift") or {}).get("features", [])[:20]}
    if drifted:
        out["drift"] = ("Drift per feature", ch.bars_png(drifted, f"{result['drift'].get('method', '').upper()} per feature"))
    if m.get("reliability") and m.get("ece") is not None:
        out["calibration"] = ("Calibration (reliability)", ch.reliability_png(m["reliability"], m["ece"]))
    return out


def _e(value: Any) -> str:
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False)
    return html.escape(value)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return _e(value) if value is not None else "–"


def _table(header: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{_fmt(v)}</td>' if i >= numeric_from and isinstance(v, (int, float)) else f"<td>{_fmt(v)}</td>"
        for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(title: str, png: bytes) -> str:
    return f'<img alt="{_e(title)}" title="{_e(title)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _per_group_tables(metrics: dict[str, Any]) -> list[str]:
    """A table for each ``per_…`` metric that maps a group (class, entity type, IoU band…) to its numbers.

    Columns are the numbers the groups have, in the order first seen, so any family's breakdown shows
    (precision/recall/F1 per class, IoU per class, AP per category); ``per_class_auc`` joins ``per_class``.
    """
    parts = []
    for key, groups in metrics.items():
        if not (key.startswith("per_") and key != "per_class_auc" and isinstance(groups, dict) and groups
                and all(isinstance(v, dict) for v in groups.values())):
            continue
        if key == "per_class" and isinstance(metrics.get("per_class_auc"), dict):
            groups = {g: {**v, **metrics["per_class_auc"].get(g, {})} for g, v in groups.items()}
        columns = list(dict.fromkeys(c for v in groups.values() for c, x in v.items()
                                     if x is None or isinstance(x, (int, float, str, bool))))
        rows = [[group, *(v.get(c) for c in columns)] for group, v in groups.items()]
        title = {"per_type": "Per entity type"}.get(key, key.replace("_", " ").capitalize())
        parts += [f"<h2>{_e(title)}</h2>", _table(["", *columns], rows)]
    return parts


def render_html(result: dict[str, Any], charts: dict[str, tuple[str, bytes]]) -> str:
    """The report page: headline with CI, metrics, per-class table, charts, worst errors, provenance."""
    m = result.get("metrics", {})
    headline = result.get("headline") or m.get("headline")
    ci = result.get("ci") or {}
    parts = [f"<h1>{_e(result.get('task'))} · {_e(result.get('model'))}</h1>",
             (f'<div class="meta">{_e(result.get("data"))} · {result.get("n")} items · {_e(result.get("created", ""))}'
              f' · modelbay {_e(result.get("modelbay_version", ""))}</div>'),
             f'<div class="headline">{_e(headline)} = {_fmt(result.get("value"))}</div>']
    if ci.get("low") is not None:
        parts.append(f'<div class="ci">{round(100 * ci["level"])}% CI [{ci["low"]:.4f}, {ci["high"]:.4f}] '
                     f'({_e(ci["method"])}, {ci["resamples"]} resamples, seed {ci["seed"]})</div>')
    scalars = [[k, v] for k, v in m.items() if k != "headline" and (v is None or isinstance(v, (int, float, str, bool)))]
    parts += ["<h2>Metrics</h2>", _table(["metric", "value"], scalars)]
    parts += _per_group_tables(m)
    parts.append('<h2>Charts</h2><div class="charts">' + "".join(_img(t, png) for t, png in charts.values()) + "</div>")
    errors = result.get("worst_errors") or []
    if errors:
        severity = "confidence" if result.get("family") == "classification" else "severity"
        rows = "".join(f'<tr><td class="num">{e["index"]}</td><td class="input">{_e(e["input"])}</td>'
                       f"<td>{_e(e['truth'])}</td><td>{_e(e['prediction'])}</td>"
                       f'<td class="num">{_fmt(e["severity"])}</td></tr>' for e in errors)
        parts += [f"<h2>Worst errors ({len(errors)})</h2>",
                  f"<table><tr><th>#</th><th>input</th><th>truth</th><th>prediction</th><th>{severity}</th></tr>{rows}</table>"]
    if result.get("drift"):
        from .drift import drift_html

        parts.append(drift_html(result["drift"]))
    provenance = [["task", result.get("task")], ["model", result.get("model")], ["metric family", result.get("family")],
                  ["data", result.get("data")], ["data sha256", result.get("fingerprint")], ["items", result.get("n")],
                  ["seconds", result.get("seconds")], ["items / s", result.get("items_per_second")],
                  ["options", result.get("options")]]
    parts += ["<h2>Provenance</h2>", _table(["", ""], provenance, numeric_from=99)]
    title = f"modelbay eval · {result.get('task')} · {result.get('model')}"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n")
