"""The forecasting model format, reader and writer together: ``forecasting.json``.

A trained forecasting model is a choice, not weights: for each series of the training data, the
candidate that won its rolling-origin backtest, with the scores that chose it, the series' season
length and its history (so ``{"unique_id": "store_1"}`` alone can be forecast). The chosen
statsforecast model is refitted on the history at run time (milliseconds to a second per series).

    {"format": "modelbay.forecasting/1", "horizon": 8, "levels": [80, 95],
     "backtest": {"n_windows": 3, "step_points": null, "candidates": [...]},
     "series": {"store_1": {"model": "AutoETS", "chosen_by": "backtest", "season_length": 12,
                            "mase": {...}, "smape": {...}, "windows": 3,
                            "history": [...], "last_timestamp": "2024-12-01", "freq": "MS"}}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...ml.model_dir import atomic_model_dir, write_card, write_json
from .models import CANDIDATES, GLOBAL_CANDIDATES

FORMAT = "modelbay.forecasting/1"
FILENAME = "forecasting.json"


def write_forecasting_model(out_dir: Path, config: dict[str, Any], card: dict[str, Any],
                            global_models: dict[str, dict[int, Any]] | None = None) -> None:
    """``forecasting.json``, the global models' files (``{name: {season: model}}``) and ``model_card.json``, atomically."""
    from .learners import learner

    with atomic_model_dir(out_dir) as tmp:
        for name, by_season in (global_models or {}).items():
            for season, model in by_season.items():
                learner(name).save(model, Path(tmp) / config["global"][name]["seasons"][str(season)]["file"])
        write_json(tmp, FILENAME, {"format": FORMAT, **config}, indent=1)
        write_card(tmp, card)


class ForecastingModel:
    """A trained model directory, loaded: per-series choices, looked up by ``unique_id``."""

    def __init__(self, path: str | Path) -> None:
        from ...ml.model_files import ModelDir

        d = ModelDir(Path(path), hint="retrain it with `modelbay train forecasting --data series.csv`")
        self.config = d.config(FILENAME, (FORMAT,), required=("horizon", "levels", "backtest", "series"))
        self.series: dict[str, dict[str, Any]] = self.config["series"]
        if not isinstance(self.series, dict) or not self.series:
            raise d.error(f"{FILENAME} has no series")
        for key, entry in self.series.items():
            if entry.get("model") not in CANDIDATES + GLOBAL_CANDIDATES or not isinstance(entry.get("history"), list):
                raise d.error(f"{FILENAME}: series {key!r} has no known model or no history")
        self.horizon = int(self.config["horizon"])
        self.levels = [int(v) for v in self.config["levels"]]
        self.backtest: dict[str, Any] = self.config["backtest"]
        self.path = Path(path)
        self.exog_cols: list[str] = list(self.config.get("exog_cols") or [])
        self._global: dict[tuple[str, int], Any] = {}

    def global_forecast(self, name: str, history: list[float], season_length: int, horizon: int, levels: list[int],
                        regressors=None):
        """The stored global model ``name``'s forecast for a series of period ``season_length`` (None if none).

        ``regressors``: ``Regressors`` (past and future) when the model was trained with ``exog_cols``.
        """
        from .learners import learner
        from .train_global import global_forecast

        saved = self.config.get("global", {}).get(name, {}).get("seasons", {}).get(str(season_length))
        if saved is None:
            return None
        key = (name, season_length)
        if key not in self._global:
            self._global[key] = learner(name).load(self.path / saved["file"], season_length)
        bands = {int(k): v for k, v in saved["bands"].items()}
        x = None
        if regressors is not None:
            import numpy as np

            x = np.vstack([regressors.past, regressors.future])
        return global_forecast(learner(name), self._global[key], bands, history, horizon, levels, x)

    def entry(self, unique_id: str | None) -> dict[str, Any] | None:
        return self.series.get(unique_id) if unique_id is not None else None

    def known_ids(self, limit: int = 10) -> str:
        ids = list(self.series)
        return ", ".join(ids[:limit]) + (f", … ({len(ids)} in all)" if len(ids) > limit else "")
