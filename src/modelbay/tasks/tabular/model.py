"""The tabular model format, reader and writer together: a LightGBM booster (``model.txt``) and
``tabular.json`` (features in training order, categories, calibration or interval); see ``task.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...data.column_codes import encode_rows
from ...ml.model_dir import atomic_model_dir, write_card, write_json
from ...ml.tabular.calibrate import apply_calibration, booster_proba

FORMAT = "modelbay.tabular/1"


class TabularModel:
    """A trained model directory, loaded: ``predict(rows)`` gives probabilities (n, k) or values (n,)."""

    def __init__(self, path: str | Path) -> None:
        from ...ml.model_files import ModelDir

        path = Path(path)
        d = ModelDir(path, hint="retrain it with `modelbay train tabular-…`")
        bad = d.error
        config = d.config("tabular.json", (FORMAT,))
        from ...ml.tabular.boosting import load_booster

        self.config = config
        self.kind: str = config["kind"]
        self.features: list[dict[str, Any]] = config["features"]
        self.labels: list[str] = config.get("labels", [])
        self.num_threads = int(config.get("num_threads", 0))
        self.booster = load_booster(path, len(self.features), "tabular.json", bad)

    def predict(self, rows: list[dict[str, Any]]):
        X = encode_rows(rows, self.features)
        if self.kind == "classification":
            P = booster_proba(self.booster, X, len(self.labels), self.num_threads)
            return apply_calibration(self.config.get("calibration"), P)
        import numpy as np

        return np.asarray(self.booster.predict(X, num_threads=self.num_threads), dtype=float)


def write_tabular_model(out_dir: Path, booster_text: str, tabular: dict[str, Any], card: dict[str, Any]) -> None:
    """``model.txt``, ``tabular.json`` and ``model_card.json``, atomically (a half-written model never looks valid)."""
    with atomic_model_dir(out_dir) as tmp:
        (tmp / "model.txt").write_text(booster_text, encoding="utf-8")
        write_json(tmp, "tabular.json", tabular, indent=1)
        write_card(tmp, card)
