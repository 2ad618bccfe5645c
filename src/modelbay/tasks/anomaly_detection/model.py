"""The trained anomaly model format, reader and writer together: ``anomaly.json`` (+ ``detector.joblib``).

A trained model scores records (rows of numeric features) with a detector fitted on normal data:

    {"format": "modelbay.anomaly/1", "algorithm": "iforest", "features": ["f1", "f2"],
     "medians": {"f1": 0.0, ...}, "threshold": 0.61, "false_alarm_rate": 0.01,
     "detector_sha256": "…", "series": {"method": "stl", "threshold": 3.5, ...}}

``detector.joblib`` holds the fitted scikit-learn estimator (IsolationForest, LocalOutlierFactor
with ``novelty=True`` or OneClassSVM behind a RobustScaler); its sha256 is in ``anomaly.json``
and checked before it is unpickled, so only the file the trainer wrote is ever loaded. The
``robust-z`` algorithm needs no estimator: ``centers`` and ``scales`` of each feature are in the
JSON. A record's score is higher the more anomalous it is; ``threshold`` was set on the training
scores so that ``false_alarm_rate`` of the training rows score above it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ...ml.model_dir import atomic_model_dir, write_card, write_json

FORMAT = "modelbay.anomaly/1"
FILENAME = "anomaly.json"
DETECTOR_FILENAME = "detector.joblib"
ALGORITHMS = ("iforest", "lof", "ocsvm", "robust-z")


def write_anomaly_model(out_dir: Path, config: dict[str, Any], detector: Any, card: dict[str, Any]) -> None:
    """``anomaly.json``, ``detector.joblib`` (unless the algorithm has none) and ``model_card.json``, atomically."""
    import joblib

    with atomic_model_dir(out_dir) as tmp:
        if detector is not None:
            joblib.dump(detector, tmp / DETECTOR_FILENAME)
            config = {**config, "detector_sha256": hashlib.sha256((tmp / DETECTOR_FILENAME).read_bytes()).hexdigest()}
        write_json(tmp, FILENAME, {"format": FORMAT, **config}, indent=1)
        write_card(tmp, card)


def record_scores(detector: Any, config: dict[str, Any], matrix: Any) -> Any:
    """Anomaly scores (higher: more anomalous) of the rows of ``matrix`` (features in the model's order)."""
    import numpy as np

    if config["algorithm"] == "robust-z":
        centers = np.asarray([config["centers"][f] for f in config["features"]], dtype=float)
        scales = np.asarray([config["scales"][f] for f in config["features"]], dtype=float)
        return np.max(np.abs(matrix - centers) / scales, axis=1)
    return -detector.score_samples(matrix)


class AnomalyModel:
    """A trained model directory, loaded."""

    def __init__(self, path: str | Path) -> None:
        from ...ml.model_files import ModelDir

        d = ModelDir(Path(path), hint="retrain it with `modelbay train anomaly-detection --data normal.csv`")
        self.config = d.config(FILENAME, (FORMAT,), required=("algorithm", "features", "medians", "threshold"))
        if self.config["algorithm"] not in ALGORITHMS:
            raise d.error(f"{FILENAME}: unknown algorithm {self.config['algorithm']!r}")
        self.features: list[str] = list(self.config["features"])
        self.threshold = float(self.config["threshold"])
        self.detector = None
        if self.config["algorithm"] != "robust-z":
            file = Path(path) / DETECTOR_FILENAME
            if not file.is_file():
                raise d.error(f"{DETECTOR_FILENAME} is missing")
            if hashlib.sha256(file.read_bytes()).hexdigest() != self.config.get("detector_sha256"):
                raise d.error(f"{DETECTOR_FILENAME} is not the file the trainer wrote (its sha256 differs)")
            import joblib

            self.detector = joblib.load(file)

    def matrix(self, rows: list[dict[str, Any]]) -> Any:
        """Rows as a float matrix in the model's feature order; a missing or null feature takes its training median."""
        import numpy as np

        known = set(self.features)
        out = np.empty((len(rows), len(self.features)), dtype=float)
        for i, row in enumerate(rows):
            unknown = sorted(set(row) - known)
            if unknown:
                from ...core.errors import BadInput

                raise BadInput(f"features {unknown} are not features of this model; it knows {self.features}",
                               hint="send only the columns the model was trained on")
            for j, name in enumerate(self.features):
                value = row.get(name)
                out[i, j] = self.config["medians"][name] if value is None else float(value)
        return out

    def scores(self, rows: list[dict[str, Any]]) -> list[float]:
        return [float(s) for s in record_scores(self.detector, self.config, self.matrix(rows))]
