#!/usr/bin/env python
"""Train the default tabular models from datasets that ship inside scikit-learn (no network).

    python scripts/train_tabular_defaults.py          # a few seconds

* ``breast-cancer-lgbm`` (tabular-classification): Wisconsin diagnostic breast cancer, 569 rows,
  30 numeric features, labels ``malignant``/``benign`` — a risk-score demo.
* ``diabetes-lgbm`` (tabular-regression): Efron et al.'s diabetes progression, 442 rows, 10
  features in their original units (``load_diabetes(scaled=False)``).

Each dataset is split (seed 0; stratified for classification) into 80% for ``modelbay train`` (which
splits it again into train / validation / calibration) and a 20% test part never trained on; the
test metrics go into the catalog spec and docs/models.md. Writes ``src/modelbay/models/<name>/1/``
and ``src/modelbay/catalog/<name>.yaml``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DATASETS = {
    "breast-cancer-lgbm": {
        "kind": "classification", "loader": "load_breast_cancer", "license": "CC BY 4.0 (UCI); model Apache-2.0",
        "description": "Demo risk score: P(malignant) of a breast mass from 30 measurements of a fine-needle aspirate"
                       " image (Wisconsin diagnostic data). LightGBM; calibration chosen on held-out rows. Not for medical use.",
        "origin": "trained by modelbay (scripts/train_tabular_defaults.py) on sklearn.datasets.load_breast_cancer",
    },
    "diabetes-lgbm": {
        "kind": "regression", "loader": "load_diabetes", "license": "BSD-3-Clause (scikit-learn data); model Apache-2.0",
        "description": "Demo regression: disease progression one year after baseline from age, sex, BMI, blood pressure"
                       " and six blood serum measurements (original units). LightGBM with a 90% conformal interval.",
        "origin": "trained by modelbay (scripts/train_tabular_defaults.py) on sklearn.datasets.load_diabetes(scaled=False)",
    },
}
OPTIONS = {"num_leaves": 15, "seed": 0, "num_threads": 1}


def rows_of(name: str) -> tuple[list[str], list[list]]:
    import sklearn.datasets as ds

    if name == "breast-cancer-lgbm":
        data = ds.load_breast_cancer()
        targets = [str(data.target_names[t]) for t in data.target]
    else:
        data = ds.load_diabetes(scaled=False)
        targets = [float(t) for t in data.target]
    header = [*map(str, data.feature_names), "target"]
    return header, [[*map(float, x), t] for x, t in zip(data.data, targets)]


def split(rows: list[list], kind: str, seed: int = 0) -> tuple[list[list], list[list]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    keys = [r[-1] for r in rows] if kind == "classification" else [0] * len(rows)
    train, test = [], []
    for key in sorted(set(keys)):
        idx = rng.permutation([i for i, k in enumerate(keys) if k == key])
        n_test = round(len(idx) * 0.2)
        test += [rows[i] for i in idx[:n_test]]
        train += [rows[i] for i in idx[n_test:]]
    return train, test


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def test_metrics(model_dir: Path, header: list[str], rows: list[list], kind: str) -> dict:
    import numpy as np

    from modelbay.ml.tabular.scores import classification_metrics, regression_metrics
    from modelbay.tasks.tabular.task import TabularModel

    model = TabularModel(model_dir)
    features = [dict(zip(header[:-1], r[:-1])) for r in rows]
    out = model.predict(features)
    if kind == "classification":
        y = np.array([model.labels.index(r[-1]) for r in rows])
        return classification_metrics(y, out, model.labels)
    return regression_metrics(np.array([r[-1] for r in rows]), out, model.config.get("interval"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    import yaml

    from modelbay.tasks.tabular.train import train_tabular

    for name, info in DATASETS.items():
        header, rows = rows_of(name)
        train_rows, test_rows = split(rows, info["kind"])
        out = ROOT / "src/modelbay/models" / name / "1"
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / f"{name}-train.csv"
            write_csv(data, header, train_rows)
            card = train_tabular(data, out, info["kind"], {**OPTIONS, "label_col": "target"}, name=name)
        card["data"]["file"] = f"sklearn.datasets.{info['loader']}: the 80% training part (seed 0)"
        test = test_metrics(out, header, test_rows, info["kind"])
        card["metrics"]["test"] = {**test, "data": "the 20% test part (seed 0), never trained on"}
        (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        files = {f.name: sha256(f) for f in sorted(out.iterdir())}
        spec = {
            "name": name, "task": card["task"], "languages": ["multilingual"],
            "sources": [f"package:modelbay/models/{name}/1"], "license": info["license"], "origin": info["origin"],
            "size_mb": round(sum(f.stat().st_size for f in out.iterdir()) / 1e6, 2),
            "install": "ships with modelbay", "description": info["description"],
            "options": {"backend": "lightgbm"}, "files": files,
            "metrics": {"test": card["metrics"]["test"], "validation": {
                k: v for k, v in card["metrics"]["validation"].items() if not isinstance(v, dict)}},
        }
        (ROOT / "src/modelbay/catalog" / f"{name}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, width=110),
                                                                     encoding="utf-8")
        print(name, json.dumps({"validation": card["metrics"]["validation"], "test": test}, indent=1))


if __name__ == "__main__":
    main()
