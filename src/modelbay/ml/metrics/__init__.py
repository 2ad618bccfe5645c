"""Metric families: one function per kind of task, all computed locally.

Every family is ``fn(truths, predictions, extra=None) -> dict`` with a ``"headline"`` key naming
its headline metric (``extra`` carries outputs and options: ``outputs``, ``scores``, ``labels``,
``bins``, ``normalize``, ``tokenize``, ``k``, ``season``, ``headline``…). A task names its family
in ``Task.metric_family``.

=================  ==========================================================  ============
family             metrics (library)                                           headline
=================  ==========================================================  ============
classification     accuracy, P/R/F1, confusion, ROC/PR-AUC, ECE (scikit-learn)  accuracy
ner                entity P/R/F1 micro, macro, per type (exact spans; seqeval)  f1
speech             WER, CER (jiwer)                                            wer (cer: CJK)
translation        BLEU, chrF (sacrebleu)                                      bleu
summarization      ROUGE-1/2/L (rouge-score, CJK by characters)                rougeL
language-model     perplexity from token log-likelihoods                       perplexity
ranking            NDCG@k, Recall@k, Precision@k, MAP, MRR                     ndcg@k
recommendation     NDCG@k, Recall@k, MAP@k, hit rate, coverage (ranking.py)    ndcg@k
regression         MAE, RMSE, R² (scikit-learn)                                mae
forecast           MAE, RMSE, MAPE, sMAPE, MASE                                mase / smape
anomaly            point P/R/F1, event-window recall, ROC-AUC, AP               f1
risk               ROC-AUC, PR-AUC, KS, Brier; precision/recall at threshold   roc_auc
decision           off-policy value: IPS, SNIPS, DM, doubly robust              dr / snips
segmentation       mIoU, per-class IoU, pixel accuracy (pooled pixels)         miou
detection          mAP@0.5:0.95, mAP@0.5, mAP@0.75, AR@100 (pycocotools)       map
verification       accuracy, TAR/FAR at threshold, TAR@FAR 1e-2/1e-3, AUC, EER  accuracy
=================  ==========================================================  ============

``bootstrap_ci`` gives a percentile confidence interval for any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ...core.errors import BadInput
from .anomaly import anomaly
from .classification import calibration, classification
from .decision import decision
from .detection import detection
from .ner import ner
from .numeric import forecast, ranking, regression
from .qa import qa
from .recommender import recommendation
from .risk import risk
from .segmentation import segmentation
from .text import RougeTokenizer, language_model, normalize_text, speech, summarization, translation
from .verification import verification

FAMILIES: dict[str, Callable[..., dict[str, Any]]] = {
    "classification": classification,
    "ner": ner,
    "speech": speech,
    "translation": translation,
    "summarization": summarization,
    "language-model": language_model,
    "ranking": ranking,
    "regression": regression,
    "forecast": forecast,
    "recommendation": recommendation,
    "anomaly": anomaly,
    "decision": decision,
    "assistant": qa,
    "risk": risk,
    "segmentation": segmentation,
    "detection": detection,
    "verification": verification,
}

__all__ = ["FAMILIES", "RougeTokenizer", "anomaly", "bootstrap_ci", "calibration", "classification", "classification_metrics", "compute", "decision", "forecast",
           "get_family", "language_model", "ner", "normalize_text", "qa", "ranking", "recommendation", "regression", "risk", "speech",
           "summarization", "translation"]


def get_family(name: str) -> Callable[..., dict[str, Any]]:
    """The metric function of a family name.

    >>> get_family("speech").__name__
    'speech'
    """
    try:
        return FAMILIES[name]
    except KeyError:
        raise BadInput(f"unknown metric family {name!r}; known: {', '.join(FAMILIES)}") from None


def compute(family: str, truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """Score ``predictions`` against ``truths`` with the named family.

    >>> compute("regression", [1.0, 3.0], [2.0, 3.0])["mae"]
    0.5
    """
    return get_family(family)(truths, predictions, extra)


def _resamples(n_items: int, n: int, seed: int, max_cells: int = 2_000_000) -> Iterator[Any]:
    """Index rows for ``n`` bootstrap resamples, in chunks so memory stays bounded."""
    import numpy as np

    rng = np.random.default_rng(seed)
    per_chunk = max(1, max_cells // n_items)
    done = 0
    while done < n:
        size = min(per_chunk, n - done)
        yield rng.integers(0, n_items, size=(size, n_items))
        done += size


def _call(fn: Callable, truths, preds, extra) -> float:
    value = fn(truths, preds, extra) if extra is not None else fn(truths, preds)
    if isinstance(value, dict):
        value = value[value["headline"]]
    return float("nan") if value is None else float(value)


def bootstrap_ci(fn: Callable | str, truths: Sequence, preds: Sequence, n: int = 1000, seed: int = 0,
                 alpha: float = 0.05, extra: dict | None = None, result: dict | None = None) -> dict[str, Any]:
    """Percentile bootstrap confidence interval of the headline metric (items resampled with replacement).

    ``fn`` is a family name, a family function, or any ``fn(truths, preds[, extra])`` returning a
    number or a dict with ``"headline"``. Families score resamples from per-item statistics in one
    vectorised pass; other functions are called once per resample (lists of ``extra`` with one
    entry per item are resampled with the items). ``result``: ``fn``'s answer on all items, when
    the caller has it already. The same seed gives the same interval.

    >>> ci = bootstrap_ci("classification", list("aabbab"), list("abbbab"), n=200, seed=1)
    >>> ci["metric"], round(ci["value"], 4), ci["low"] <= ci["value"] <= ci["high"]
    ('accuracy', 0.8333, True)
    """
    import numpy as np

    fn = get_family(fn) if isinstance(fn, str) else fn
    if not 0 < alpha < 1 or n < 1:
        raise BadInput(f"need 0 < alpha < 1 and n >= 1, got alpha={alpha}, n={n}")
    size = len(truths)
    if size == 0 or size != len(preds):
        raise BadInput(f"need equal, non-zero numbers of truths and predictions, got {size} and {len(preds)}")
    if result is not None:
        full = result
    else:
        full = fn(truths, preds, extra) if extra is not None or hasattr(fn, "item_stats") else fn(truths, preds)
    metric = full["headline"] if isinstance(full, dict) else "value"
    point = full[metric] if isinstance(full, dict) else full
    point = None if point is None else float(point)
    stats_fn = getattr(fn, "item_stats", None)
    stats = stats_fn(truths, preds, extra, metric) if stats_fn is not None and isinstance(full, dict) else None
    values: list[float] = []
    if stats is not None:
        rows, reduce = stats
        for idx in _resamples(size, n, seed):
            values.extend(float(v) for v in reduce(rows[idx].sum(axis=1)))
    else:
        per_item = {k: v for k, v in (extra or {}).items() if isinstance(v, (list, tuple)) and len(v) == size}
        for idx in _resamples(size, n, seed):
            for row in idx:
                sub = None if extra is None else {**extra, **{k: [v[i] for i in row] for k, v in per_item.items()}}
                values.append(_call(fn, [truths[i] for i in row], [preds[i] for i in row], sub))
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    low, high = (float(x) for x in np.percentile(arr, [100 * alpha / 2, 100 * (1 - alpha / 2)])) if len(arr) else (None, None)
    return {"metric": metric, "value": point, "low": low, "high": high, "level": 1 - alpha, "resamples": n,
            "valid_resamples": len(arr), "seed": seed, "method": "percentile bootstrap"}


def classification_metrics(y_true: list[str], y_pred: list[str], labels: list[str] | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support, confusion matrix (rows = true), and more:
    ``modelbay.ml.metrics.classification``.

    >>> m = classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    >>> m["accuracy"], round(m["macro_f1"], 4), m["confusion_matrix"]
    (0.75, 0.7333, [[1, 1], [0, 2]])
    """
    return classification(y_true, y_pred, {"labels": labels} if labels else None)
