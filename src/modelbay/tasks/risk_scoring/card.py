"""What a trained risk model records about itself: the card, and the training table's histograms for drift."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...ml.fingerprint import data_fingerprint
from ...ml.model_dir import utc_timestamp
from ...ml.splits import split_card, validation_warnings


def drift_reference(table, names: list[str], specs: list[dict[str, Any]]) -> dict[str, Any]:
    """``drift.json``: a reference histogram of every feature of the training table (``modelbay.ml.drift``)."""
    from ...ml.drift import reference_histogram

    return {"format": "modelbay.drift/1", "n_rows": table.n_rows, "data": Path(table.path).name if isinstance(table.path, Path) else table.path,
            "features": {name: reference_histogram(list(table.columns[name]) if spec["type"] == "categorical"
                                                   else table.columns[name], spec["type"])
                         for name, spec in zip(names, specs)}}


def risk_card(data: Path, n_rows: int, names: list[str], label_col: str, specs: list[dict[str, Any]], parts, config,
              boosted, risk: dict[str, Any], fitted: dict[str, Any], *, monotone: list[int] | None,
              class_weight: Any, name: str, task: str, fit_s: float) -> dict[str, Any]:
    import lightgbm as lgb

    from ...core.version import __version__

    n_train, n_val, n_cal = (len(p) for p in parts)
    gain = boosted.booster.feature_importance(importance_type="gain")
    total_gain = float(gain.sum()) or 1.0
    top = sorted(range(len(names)), key=lambda j: -gain[j])[:10]
    return {
        "name": name, "task": task, "base": "lightgbm", "format": risk["format"], "created": utc_timestamp(),
        "description": f"LightGBM risk of {label_col} = {risk['positive']!r} from {len(names)} columns of {Path(data).name}",
        "labels": risk["labels"], "positive": risk["positive"],
        "threshold": risk["threshold"],
        "data": {**data_fingerprint(data), "n_rows": n_rows, "label_col": label_col,
                 "n_train": n_train, "n_validation": n_val, "n_calibration": n_cal,
                 "features": {"numeric": sum(s["type"] == "numeric" for s in specs),
                              "categorical": sum(s["type"] == "categorical" for s in specs)},
                 "split": split_card(config.seed, config.val_fraction, n_train, n_val, stratified_by="label",
                                     calibration_fraction=config.calibration_fraction, n_calibration=n_cal)},
        "options": {"backend": "lightgbm"},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "training": {"best_iteration": boosted.best_iteration, "rounds_run": boosted.rounds_run,
                     "params": boosted.params, "class_weight": class_weight,
                     "monotone": {n: s for n, s in zip(names, monotone or []) if s},
                     "calibration": risk["calibration"]["method"], "fit_seconds": round(fit_s, 2)},
        "metrics": {"validation": fitted["metrics"]},
        "warnings": validation_warnings(n_val, "rows"),
        "feature_importance": [{"feature": names[j], "gain_share": round(float(gain[j]) / total_gain, 4)} for j in top],
        "lightgbm_version": lgb.__version__, "modelbay_version": __version__,
    }
