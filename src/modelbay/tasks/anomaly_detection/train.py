"""Train a record detector on normal data, and read labelled data for ``modelbay eval``.

``modelbay train anomaly-detection --data normal.csv`` fits the chosen detector on the table's
numeric columns and sets the threshold at the ``1 - false_alarm_rate`` quantile of the training
rows' scores. A ``label`` column (1 = anomaly), when there, is not a feature: with
``normal_only`` (the default) the rows labelled 1 are left out of training.

>>> card = train_anomaly(Path("normal.csv"), Path("/tmp/m"), {"algorithm": "iforest"})   # doctest: +SKIP
>>> card["metrics"]["validation"]["threshold"]                                            # doctest: +SKIP
0.58
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...core.task import Progress
from ...ml.fingerprint import data_fingerprint
from ...ml.model_dir import utc_timestamp
from ...ml.progress import reporter
from .model import ALGORITHMS, FORMAT, record_scores, write_anomaly_model

#: One-class SVM's fit grows with the square of the rows: it trains on at most this many
OCSVM_MAX_ROWS = 5000


@dataclass
class AnomalyTrainConfig:
    """Training options (``--param key=value``)."""

    algorithm: str = "iforest"          # iforest, lof, ocsvm or robust-z
    false_alarm_rate: float = 0.01      # share of training rows scored above the threshold
    label_col: str = "label"            # 1 = anomaly; never a feature
    normal_only: bool = True            # train on the rows labelled 0 only (when the label column is there)
    feature_cols: tuple[str, ...] = ()  # default: every numeric column but the label and drop_cols
    drop_cols: tuple[str, ...] = ()     # e.g. ids and timestamps
    n_estimators: int = 200             # iforest
    n_neighbors: int = 20               # lof
    nu: float = 0.01                    # ocsvm: bound on the share of training rows outside
    max_rows: int = 50_000              # rows trained on (a seeded sample beyond that)
    seed: int = 0
    format: str | None = None


def _config(options: dict[str, Any]) -> AnomalyTrainConfig:
    from ...ml.options import config_from_options

    config = config_from_options(AnomalyTrainConfig, options, what="anomaly-detection")
    if config.algorithm not in ALGORITHMS:
        raise BadInput(f"algorithm {config.algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    if not 0 < config.false_alarm_rate < 0.5:
        raise BadInput(f"false_alarm_rate must be between 0 and 0.5, got {config.false_alarm_rate}")
    return config


def read_features(data: str | Path, config: AnomalyTrainConfig) -> tuple[Any, Any]:
    """The feature frame (numeric, bools as 0/1) and the labels (None without a label column)."""
    import pandas as pd

    from ...data.databases import read_frame

    frame = read_frame(data)
    if frame.empty:
        raise BadInput(f"{data}: no rows")
    labels = frame[config.label_col].astype(float).astype(int) if config.label_col in frame.columns else None
    dropped = {config.label_col, *config.drop_cols}
    columns = list(config.feature_cols) or [c for c in frame.columns if c not in dropped]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BadInput(f"{data}: no column(s) {missing}; the table has {list(frame.columns)}")
    features = frame[columns].replace({True: 1.0, False: 0.0})
    for col in columns:
        converted = pd.to_numeric(features[col], errors="coerce")
        bad = converted.isna() & features[col].notna() & (features[col].astype(str).str.strip() != "")
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise BadInput(f"{data}: column {col!r} row {row + 1} is {features[col].iloc[row]!r}, not a number",
                           hint="anomaly detectors take numeric columns; drop it with --param drop_cols=" + col)
        features[col] = converted
    return features, labels


def _detector(config: AnomalyTrainConfig) -> Any:
    if config.algorithm == "iforest":
        from sklearn.ensemble import IsolationForest

        return IsolationForest(n_estimators=config.n_estimators, random_state=config.seed, n_jobs=1)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import RobustScaler

    if config.algorithm == "lof":
        from sklearn.neighbors import LocalOutlierFactor

        return make_pipeline(RobustScaler(), LocalOutlierFactor(n_neighbors=config.n_neighbors, novelty=True))
    from sklearn.svm import OneClassSVM

    return make_pipeline(RobustScaler(), OneClassSVM(nu=config.nu, gamma="scale"))


def fit_detector(matrix: Any, config: AnomalyTrainConfig) -> tuple[Any, dict[str, Any]]:
    """The fitted detector (None for robust-z) and what ``anomaly.json`` needs to score with it."""
    import numpy as np

    from .series import robust_center_scale

    extra: dict[str, Any] = {}
    if config.algorithm == "robust-z":
        stats = [robust_center_scale(matrix[:, j]) for j in range(matrix.shape[1])]
        return None, {"centers": [c for c, _ in stats], "scales": [s for _, s in stats]}
    limit = min(config.max_rows, OCSVM_MAX_ROWS) if config.algorithm == "ocsvm" else config.max_rows
    if len(matrix) > limit:
        rows = np.random.default_rng(config.seed).choice(len(matrix), size=limit, replace=False)
        matrix = matrix[np.sort(rows)]
        extra["trained_rows"] = limit
    return _detector(config).fit(matrix), extra


def train_anomaly(data: str | Path, out_dir: Path, options: dict[str, Any], progress: Progress = False, *,
                  name: str = "model", task: str = "anomaly-detection") -> dict[str, Any]:
    """Fit a detector on the (normal) rows of ``data``; returns the model card."""
    import numpy as np

    t0 = time.perf_counter()
    config = _config(options)
    features, labels = read_features(data, config)
    if labels is not None and config.normal_only:
        features = features[labels.to_numpy() == 0]
    if len(features) < 10:
        raise BadInput(f"{data}: {len(features)} training rows; a detector needs at least 10 normal rows")
    medians = {c: float(v) if np.isfinite(v) else 0.0 for c, v in features.median().items()}
    matrix = features.fillna(medians).to_numpy(dtype=float)
    with reporter(progress) as rep:
        tick = rep.stage(f"fit {config.algorithm}", total=1)
        detector, extra = fit_detector(matrix, config)
        tick(1)
    columns = [str(c) for c in features.columns]
    saved = {"algorithm": config.algorithm, "features": columns, "medians": medians,
             "false_alarm_rate": config.false_alarm_rate, **extra}
    if config.algorithm == "robust-z":
        saved["centers"], saved["scales"] = dict(zip(columns, extra["centers"])), dict(zip(columns, extra["scales"]))
    train_scores = record_scores(detector, saved, matrix)
    saved["threshold"] = float(np.quantile(train_scores, 1 - config.false_alarm_rate))
    card = _card(data, config, saved, len(matrix), name=name, task=task)
    card["seconds"] = round(time.perf_counter() - t0, 2)
    write_anomaly_model(out_dir, saved, detector, card)
    return card


def _card(data, config: AnomalyTrainConfig, saved: dict[str, Any], n_rows: int, *, name: str, task: str) -> dict[str, Any]:
    import sklearn

    from ...core.version import __version__

    return {
        "name": name, "task": task, "base": f"scikit-learn {config.algorithm}", "format": FORMAT, "created": utc_timestamp(),
        "description": f"{config.algorithm} anomaly detector on {n_rows} rows of {Path(str(data)).name}",
        "data": {**data_fingerprint(data), "n_rows": n_rows, "features": saved["features"]},
        "options": {"backend": "anomaly"},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "metrics": {"validation": {"threshold": saved["threshold"], "training_rows": n_rows,
                                   "false_alarm_rate_on_training": config.false_alarm_rate}},
        "sklearn_version": sklearn.__version__, "modelbay_version": __version__,
    }
