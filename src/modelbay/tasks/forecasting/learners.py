"""The global candidates — models learned across all the series of a table — behind one interface.

``train_global.py`` backtests, stores and serves any of them the same way; each names how it fits,
forecasts, saves and loads. ``LightGBM`` (``global_model.py``) uses the regressors, ``NBEATS``
(``neural.py``) does not.

>>> learner("NBEATS").suffix
'safetensors'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core.errors import BadInput


@dataclass(frozen=True)
class Learner:
    name: str
    #: (histories, season length, horizon, regressors per history or None) -> model, or None if too little data
    fit: Callable[..., Any]
    #: (model, history, horizon, regressors over history + horizon or None) -> float array, or None
    forecast: Callable[..., Any]
    save: Callable[[Any, Any], None]            # (model, path)
    load: Callable[[Any, int], Any]             # (path, season length) -> model
    suffix: str                                 # of the saved file


def _lightgbm() -> Learner:
    from .global_model import fit_global, forecast_global, load_global, save_global

    return Learner("LightGBM", lambda h, season, horizon, x: fit_global(h, season, regressors=x),
                   forecast_global, save_global, load_global, "txt")


def _nbeats() -> Learner:
    from .neural import fit_nbeats, forecast_nbeats, load_nbeats, save_nbeats

    return Learner("NBEATS", fit_nbeats, forecast_nbeats, save_nbeats, load_nbeats, "safetensors")


_LEARNERS: dict[str, Callable[[], Learner]] = {"LightGBM": _lightgbm, "NBEATS": _nbeats}


def learner(name: str) -> Learner:
    """The global candidate called ``name``."""
    if name not in _LEARNERS:
        raise BadInput(f"unknown global forecasting model {name!r}; known: {', '.join(_LEARNERS)}")
    return _LEARNERS[name]()
