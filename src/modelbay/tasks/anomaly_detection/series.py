"""Scoring a whole series: robust residual z-scores (STL, a rolling median, or none) and change points.

Every method turns the series into residuals and scores each residual by its robust z-score,
``|r - median(r)| / (1.4826 · MAD(r))`` (the modified z-score of Iglewicz and Hoaglin; 3.5 is
their suggested cut-off). The methods differ in what they remove first:

* ``stl`` — statsmodels' robust STL (trend + one seasonal period) when the series has a period
  (given, from the dates, or found by autocorrelation); otherwise a centred rolling median;
* ``rolling`` — causal: each point against the median and MAD of the ``window_points`` points
  before it, exactly what the streaming endpoint computes point by point;
* ``zscore`` — nothing removed: the robust z-score of the raw values (the baseline).

Change points (shifts of level) come from ruptures' PELT on the series less its seasonal part, with
a BIC-like penalty (``change_penalty`` × log n) in units of the residuals' robust noise level.

>>> r = score_series([10, 11, 10, 12, 11, 60, 10, 11, 12, 10, 11, 10], SeriesOptions(method="zscore"))
>>> [i for i, f in enumerate(r.flags) if f]
[5]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: MAD of a normal distribution times this is its standard deviation
MAD_TO_SD = 1.4826
METHODS = ("stl", "rolling", "zscore")
#: STL's seasonal smoother, in seasons (odd)
STL_SEASONAL_SMOOTHER = 13


@dataclass(frozen=True)
class SeriesOptions:
    method: str = "stl"
    threshold: float = 3.5              # robust z-score above which a point is an anomaly
    season_length: int | None = None    # points per season; None: from the dates, else by autocorrelation
    window_points: int = 50             # rolling method / streaming: points the median and MAD are taken over
    min_points: int = 10                # rolling method / streaming: points seen before any point is flagged
    change_points: bool = True
    change_penalty: float = 3.0         # PELT penalty in units of noise variance × log(n)


@dataclass
class SeriesScores:
    scores: list[float]
    flags: list[bool]
    method: str
    season_length: int | None
    change_points: list[int] = field(default_factory=list)


def robust_center_scale(values: Any) -> tuple[float, float]:
    """Median and MAD-based standard deviation; the scale falls back to the mean absolute deviation, then 1."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    center = float(np.median(v))
    scale = MAD_TO_SD * float(np.median(np.abs(v - center)))
    if scale <= 1e-12:
        # more than half the values equal the median: MAD is 0, so use the mean absolute deviation
        scale = 1.2533 * float(np.mean(np.abs(v - center)))
    return center, scale if scale > 1e-12 else 1.0


def robust_z(values: Any) -> Any:
    import numpy as np

    center, scale = robust_center_scale(values)
    return np.abs(np.asarray(values, dtype=float) - center) / scale


def guess_period(values: Any, *, min_acf: float = 0.3) -> int | None:
    """The lag of the highest autocorrelation peak (2 … n/3) of the detrended series, if it is above ``min_acf``."""
    import numpy as np
    from statsmodels.tsa.stattools import acf

    v = np.asarray(values, dtype=float)
    n = len(v)
    if n < 12:
        return None
    detrended = v - _rolling_median(v, max(3, n // 10))
    if np.ptp(detrended) == 0:
        return None
    corr = acf(detrended, nlags=n // 3, fft=True)
    peaks = [lag for lag in range(2, len(corr) - 1) if corr[lag] > corr[lag - 1] and corr[lag] >= corr[lag + 1]]
    best = max(peaks, key=lambda lag: corr[lag], default=None)
    return int(best) if best is not None and corr[best] >= min_acf else None


def _rolling_median(v: Any, window: int) -> Any:
    import pandas as pd

    return pd.Series(v).rolling(window, center=True, min_periods=1).median().to_numpy()


def _decompose(v: Any, period: int | None) -> tuple[Any, Any]:
    """(residuals, the series without its seasonal part): robust STL with a period, else a centred rolling median.

    Robust, so a spike does not leak into the seasonal part (and flag the same phase in other seasons);
    with a seasonal smoother of 13 seasons rather than statsmodels' default 7, because with 7 the
    robust reweighting fits most points almost exactly, the residuals' MAD collapses and plain noise
    scores as anomalous.
    """
    if period is not None and period >= 2 and len(v) >= 2 * period + 1:
        from statsmodels.tsa.seasonal import STL

        fit = STL(v, period=period, seasonal=STL_SEASONAL_SMOOTHER, robust=True).fit()
        return fit.resid, v - fit.seasonal
    return v - _rolling_median(v, 7), v


def rolling_scores(values: Any, window_points: int, min_points: int) -> list[float]:
    """Each point's robust z-score against the ``window_points`` points before it (0 during the warm-up)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    out = []
    for i in range(len(v)):
        past = v[max(0, i - window_points):i]
        if len(past) < max(min_points, 1):
            out.append(0.0)
            continue
        center, scale = robust_center_scale(past)
        out.append(float(abs(v[i] - center) / scale))
    return out


def change_points(values: Any, noise: float, penalty: float) -> list[int]:
    """Indices where a new level starts (ruptures PELT, L2 cost on the series in units of ``noise``).

    Candidate positions are every ``n // 500``-th point (at least every point), so a long series stays fast.
    """
    import numpy as np
    import ruptures

    v = np.asarray(values, dtype=float)
    n = len(v)
    if n < 8:
        return []
    jump = max(1, n // 500)
    found = ruptures.Pelt(model="l2", min_size=3, jump=jump).fit(v / (noise or 1.0)).predict(pen=penalty * math.log(n))
    return [int(i) for i in found if i < n]


def score_series(values: list[float], options: SeriesOptions) -> SeriesScores:
    """Scores, flags and change points of one series."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    period = (options.season_length or guess_period(v)) if options.method == "stl" else None
    residuals, adjusted = _decompose(v, period)
    if options.method == "rolling":
        scores = rolling_scores(v, options.window_points, options.min_points)
    elif options.method == "zscore":
        scores = [float(s) for s in robust_z(v)]
    else:
        scores = [float(s) for s in robust_z(residuals)]
    flags = [s > options.threshold for s in scores]
    noise = robust_center_scale(residuals)[1]
    # a spike is not a change of level: flagged points take their neighbours' median before PELT looks
    cleaned = np.where(flags, _rolling_median(adjusted, 7), adjusted)
    points = change_points(cleaned, noise, options.change_penalty) if options.change_points else []
    return SeriesScores(scores=scores, flags=flags, method=options.method, season_length=period, change_points=points)
