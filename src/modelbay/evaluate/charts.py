"""The report's charts as PNG bytes (matplotlib, Agg canvas: no display, no global pyplot state)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

#: a few metrics of each family drawn next to the headline (same scale)
CHART_METRICS = {
    "speech": ("wer", "cer"),
    "translation": ("bleu", "chrf"),
    "summarization": ("rouge1", "rouge2", "rougeL"),
    "language-model": ("perplexity",),
    "ranking": ("ndcg@", "recall@", "precision@", "map", "mrr"),
    "regression": ("mae", "rmse", "median_absolute_error"),
    "forecast": ("mase", "smape", "mape"),
    "ner": ("precision", "recall", "f1", "macro_f1"),
    "classification": ("accuracy", "macro_f1", "micro_f1", "roc_auc", "pr_auc"),
    "risk": ("roc_auc", "pr_auc", "ks", "brier"),
    "recommendation": ("ndcg@", "recall@", "map@", "hit_rate@", "coverage@"),
    "anomaly": ("precision", "recall", "f1", "event_recall", "roc_auc"),
}


def _figure(width: float = 6.0, height: float = 4.5):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a font without glyphs for a label's script
        fig.savefig(buf, format="png")
    return buf.getvalue()


def confusion_matrix_png(labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> bytes:
    """Heatmap coloured by each true label's share (rows sum to 1), annotated with counts."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = min(4 + 0.5 * len(labels), 14)
    fig = _figure(size + 1, size)
    ax = fig.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="share of true label")
    ticks = range(len(labels))
    ax.set_xticks(ticks, [str(x)[:20] for x in labels], rotation=45 if len(labels) > 3 else 0, ha="right" if len(labels) > 3 else "center")
    ax.set_yticks(ticks, [str(x)[:20] for x in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix")
    if len(labels) <= 30:
        for i in ticks:
            for j in ticks:
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center",
                        color="white" if shares[i, j] > 0.5 else "black", fontsize=9)
    return _png(fig)


def curves_png(curves: dict[str, dict[str, Any]], kind: str) -> bytes:
    """ROC (``kind="roc"``: fpr/tpr) or precision-recall (``kind="pr"``) curves, one line per label."""
    fig = _figure()
    ax = fig.add_subplot()
    if kind == "roc":
        for label, c in curves.items():
            ax.plot(c["fpr"], c["tpr"], label=f"{str(label)[:20]} (AUC {c['auc']:.3f})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title("ROC, one vs rest")
    else:
        for label, c in curves.items():
            ax.step(c["recall"], c["precision"], where="post", label=f"{str(label)[:20]} (AP {c['ap']:.3f})")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title("Precision-recall, one vs rest")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if len(curves) <= 12:
        ax.legend(loc="lower right" if kind == "roc" else "lower left", fontsize=8)
    return _png(fig)


def reliability_png(bins: Sequence[dict[str, Any]], ece: float) -> bytes:
    """Reliability diagram: accuracy per confidence bin against the diagonal, with bin sizes below."""
    fig = _figure(6, 5.5)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    filled = [b for b in bins if b["count"]]
    width = (bins[0]["high"] - bins[0]["low"]) if bins else 0.1
    top.bar([b["low"] for b in filled], [b["accuracy"] for b in filled], width=width, align="edge",
            edgecolor="black", alpha=0.7, label="accuracy")
    top.plot([b["confidence"] for b in filled], [b["accuracy"] for b in filled], "o", color="black", label="mean confidence")
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(f"Calibration (ECE {ece:.3f})")
    top.legend(loc="upper left", fontsize=8)
    bottom.bar([b["low"] for b in bins], [b["count"] for b in bins], width=width, align="edge", color="grey")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("confidence of the predicted label")
    bottom.set_ylabel("items")
    return _png(fig)


def bars_png(values: dict[str, float], title: str, highlight: str | None = None,
             interval: tuple[float, float] | None = None) -> bytes:
    """Horizontal bars of a few metrics; ``highlight`` (the headline) is coloured and carries ``interval``."""
    names = list(values)
    fig = _figure(6, 1.2 + 0.5 * len(names))
    ax = fig.add_subplot()
    colours = ["tab:blue" if n == highlight else "tab:gray" for n in names]
    ax.barh(names, [values[n] for n in names], color=colours)
    if highlight in values and interval is not None and None not in interval:
        v = values[highlight]
        ax.errorbar([v], [names.index(highlight)], xerr=[[v - interval[0]], [interval[1] - v]], fmt="none",
                    ecolor="black", capsize=6)
    for i, n in enumerate(names):
        right = interval[1] if n == highlight and interval is not None and interval[1] is not None else values[n]
        ax.text(max(values[n], right), i, f"  {values[n]:.4g}", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.margins(x=0.2)
    return _png(fig)


def chart_values(family: str, metrics: dict[str, Any]) -> dict[str, float]:
    """The metrics ``bars_png`` draws for a family: the headline and its same-scale siblings."""
    wanted = CHART_METRICS.get(family, ())
    out = {k: float(v) for k, v in metrics.items()
           if isinstance(v, (int, float)) and not isinstance(v, bool) and any(k == w or (w.endswith("@") and k.startswith(w)) for w in wanted)}
    headline = metrics.get("headline")
    if isinstance(metrics.get(headline), (int, float)):
        out.setdefault(headline, float(metrics[headline]))
    return out
