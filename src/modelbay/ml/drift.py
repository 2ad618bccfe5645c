"""Data drift by the population stability index (PSI): reference histograms kept with a model, live batches compared.

At training time ``reference_histogram`` bins each feature of the training table: numbers by the
training data's deciles (right-closed bins, with the outer ones open), categories by their most
frequent values plus "other"; both get a "missing" bin. A live batch is counted into the same bins
and each feature gets

    PSI = sum over bins of (live share - reference share) * ln(live share / reference share)

with shares floored at ``EPSILON`` so an empty bin does not make it infinite. The usual reading:
below 0.1 stable, 0.1 to 0.25 moderate shift, 0.25 or more major shift.

>>> ref = reference_histogram([float(v) for v in range(100)], "numeric", n_bins=4)
>>> ref["edges"]
[24.75, 49.5, 74.25]
>>> round(population_stability_index(ref["shares"], bin_shares(ref, [float(v) for v in range(100)])), 6)
0.0
>>> band(0.3)
'major'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

#: the usual PSI bands: below the first "stable", below the second "moderate", else "major"
BANDS = (0.1, 0.25)
#: shares are floored at this so an empty bin gives a large but finite PSI
EPSILON = 1e-4
#: categories kept by name in a reference histogram; the rest share one "other" bin
MAX_CATEGORIES = 20
MISSING, OTHER = "(missing)", "(other)"


def band(psi: float) -> str:
    """``"stable"`` (< 0.1), ``"moderate"`` (< 0.25) or ``"major"``."""
    return "stable" if psi < BANDS[0] else ("moderate" if psi < BANDS[1] else "major")


def reference_histogram(values: Sequence, kind: str, n_bins: int = 10) -> dict[str, Any]:
    """The bins of one training column and the share of rows in each (``kind``: numeric or categorical).

    Numeric ``values`` are floats (NaN = missing); categorical ones strings (None = missing).
    """
    import numpy as np

    if kind == "numeric":
        x = np.asarray(values, dtype=float)
        finite = x[np.isfinite(x)]
        cuts = np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]) if len(finite) else np.array([])
        edges = [round(float(e), 8) for e in np.unique(cuts)]
        hist = {"type": "numeric", "edges": edges, "labels": _interval_labels(edges) + [MISSING]}
    else:
        counts: dict[str, int] = {}
        for v in values:
            if v is not None:
                counts[v] = counts.get(v, 0) + 1
        kept = sorted(counts, key=lambda c: (-counts[c], c))[:MAX_CATEGORIES]
        hist = {"type": "categorical", "categories": kept, "labels": [*kept, OTHER, MISSING]}
    hist["shares"] = [round(float(s), 8) for s in bin_shares(hist, values)]
    hist["n_rows"] = len(values)
    return hist


def _interval_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all values"]
    bounds = [f"≤ {edges[0]:.4g}"] + [f"({a:.4g}, {b:.4g}]" for a, b in pairwise(edges)]
    return bounds + [f"> {edges[-1]:.4g}"]


def bin_shares(hist: dict[str, Any], values: Sequence) -> list[float]:
    """The share of ``values`` in each bin of ``hist`` (the last bin is "missing")."""
    import numpy as np

    n_bins = len(hist["labels"])
    counts = np.zeros(n_bins)
    if hist["type"] == "numeric":
        x = np.asarray([math.nan if v is None else v for v in values], dtype=float)
        finite = np.isfinite(x)
        idx = np.searchsorted(np.asarray(hist["edges"], dtype=float), x[finite], side="left")
        counts[: n_bins - 1] = np.bincount(idx, minlength=n_bins - 1)[: n_bins - 1]
        counts[-1] = (~finite).sum()
    else:
        index = {c: i for i, c in enumerate(hist["categories"])}
        other = n_bins - 2
        for v in values:
            counts[n_bins - 1 if v is None else index.get(v, other)] += 1
    total = counts.sum()
    return (counts / total).tolist() if total else [0.0] * n_bins


def population_stability_index(expected: Sequence[float], actual: Sequence[float]) -> float:
    """PSI of the ``actual`` bin shares against the ``expected`` ones (same bins, each summing to 1).

    >>> round(population_stability_index([0.5, 0.5], [0.7, 0.3]), 4)
    0.1695
    """
    import numpy as np

    e = np.maximum(np.asarray(expected, dtype=float), EPSILON)
    a = np.maximum(np.asarray(actual, dtype=float), EPSILON)
    return float(((a - e) * np.log(a / e)).sum())


def drift_report(references: dict[str, dict[str, Any]], columns: dict[str, Sequence]) -> dict[str, Any]:
    """PSI of every referenced feature: ``columns`` maps a feature to its live values (as in ``reference_histogram``).

    Features are listed largest PSI first, each with its band and its bins (reference and live shares).
    """
    n = len(next(iter(columns.values()))) if columns else 0
    features = []
    for name, ref in references.items():
        live = bin_shares(ref, columns[name])
        psi = population_stability_index(ref["shares"], live)
        features.append({
            "feature": name, "type": ref["type"], "value": round(psi, 4), "band": band(psi),
            "missing_share": {"reference": round(ref["shares"][-1], 4), "live": round(live[-1], 4)},
            "bins": [{"bin": label, "reference": round(r, 4), "live": round(v, 4)}
                     for label, r, v in zip(ref["labels"], ref["shares"], live)],
        })
    features.sort(key=lambda f: (-f["value"], f["feature"]))
    return {
        "method": "psi", "n": n, "max": features[0]["value"] if features else 0.0,
        "bands": {"stable": f"< {BANDS[0]}", "moderate": f"{BANDS[0]} to {BANDS[1]}", "major": f">= {BANDS[1]}"},
        "counts": {b: sum(f["band"] == b for f in features) for b in ("stable", "moderate", "major")},
        "features": features,
    }
