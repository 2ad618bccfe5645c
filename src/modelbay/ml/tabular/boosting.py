"""LightGBM boosting for table models (tabular classification/regression, risk scoring): early stopping on
held-out rows, class weights, the parameters every caller shares.

>>> lgb_params("binary", 2, 1000, type("C", (), {"learning_rate": 0.1, "num_leaves": 15, "feature_fraction": 1.0,
...     "bagging_fraction": 1.0, "lambda_l2": 0.0, "seed": 0, "num_threads": 1, "min_data_in_leaf": None})())["objective"]
'binary'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...core.errors import BadInput


@dataclass
class Boosted:
    """A booster cut at its best round, as saved (``model_str``) and loaded back (``booster``)."""

    booster: Any
    model_str: str
    params: dict[str, Any]
    best_iteration: int
    rounds_run: int


def boost(X, y, train_idx, val_idx, specs: list[dict[str, Any]], classes: list[str], kind: str, config, rep,
          extra_params: dict[str, Any] | None = None) -> Boosted:
    """LightGBM on the training rows, early stopping on the validation rows.

    ``config`` has the fields of ``tasks.tabular.train.TabularConfig`` that boosting reads; ``extra_params``
    go to LightGBM as they are (``monotone_constraints``…).

    ``rep`` is a ``ml.progress`` reporter; the boosting rounds are its stage. What is returned is cut
    at the best round, so what is saved is what is measured.
    """
    import lightgbm as lgb

    weights = class_weights(y[train_idx], classes, config.class_weight) if kind == "classification" else None
    params = {**lgb_params(kind, len(classes), len(train_idx), config), **(extra_params or {})}
    categorical = [j for j, s in enumerate(specs) if s["type"] == "categorical"]
    lgb_names = [f"f{j}" for j in range(len(specs))]  # LightGBM rejects some characters in names; the callers keep ours
    train_set = lgb.Dataset(X[train_idx], y[train_idx], weight=weights, feature_name=lgb_names,
                            categorical_feature=categorical or "auto", free_raw_data=False)
    val_set = lgb.Dataset(X[val_idx], y[val_idx], reference=train_set)
    tick = rep.stage("boosting rounds", total=config.max_rounds)
    rounds = [0]

    def on_round(env) -> None:
        rounds[0] = env.iteration + 1
        tick(rounds[0])

    callbacks = [on_round]
    if config.early_stopping_rounds:
        callbacks.append(lgb.early_stopping(config.early_stopping_rounds, first_metric_only=True, verbose=False))
    booster = lgb.train(params, train_set, num_boost_round=config.max_rounds, valid_sets=[val_set],
                        valid_names=["validation"], callbacks=callbacks)
    tick(config.max_rounds)
    best = booster.best_iteration or rounds[0]
    model_str = booster.model_to_string(num_iteration=best)
    return Boosted(lgb.Booster(model_str=model_str), model_str, params, best, rounds[0])


def class_weights(y_train, classes: list[str], option) -> Any:
    import numpy as np

    if option in (None, "", "none"):
        return None
    if option == "balanced":
        counts = np.bincount(y_train, minlength=len(classes)).astype(float)
        per_class = len(y_train) / (len(classes) * np.maximum(counts, 1))
    elif isinstance(option, dict):
        unknown = sorted(set(map(str, option)) - set(classes))
        if unknown:
            raise BadInput(f"class_weight names unknown label(s) {unknown}",
                           hint="use the values of the label column as keys, e.g. {\"bad\": 5}")
        per_class = np.array([float(option.get(c, 1.0)) for c in classes])
    else:
        raise BadInput(f"class_weight {option!r}: expected 'balanced' or a {{label: weight}} object")
    return per_class[y_train]


def lgb_params(kind: str, n_classes: int, n_train: int, config) -> dict[str, Any]:
    objective, metric = {"regression": ("regression", "l2"), "binary": ("binary", "binary_logloss"),
                         "multiclass": ("multiclass", "multi_logloss")}[
        "regression" if kind == "regression" else ("binary" if n_classes == 2 else "multiclass")]
    params = {
        "objective": objective, "metric": metric, "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves, "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction, "bagging_freq": 1 if config.bagging_fraction < 1 else 0,
        "lambda_l2": config.lambda_l2, "seed": config.seed, "deterministic": True, "force_col_wise": True,
        "num_threads": config.num_threads, "verbosity": -1,
        "min_data_in_leaf": config.min_data_in_leaf or (20 if n_train >= 400 else max(2, n_train // 20)),
    }
    if objective == "multiclass":
        params["num_class"] = n_classes
    return params


def load_booster(folder, n_features: int, config_file: str, bad):
    """``folder/model.txt`` as a LightGBM booster, checked against the ``n_features`` its config lists.

    ``bad(message)`` makes the model directory's error (``ModelDir.error``), raised for a missing,
    unreadable or mismatched file.
    """
    from pathlib import Path

    import lightgbm as lgb

    path = Path(folder) / "model.txt"
    if not path.is_file():
        raise bad("model.txt is missing")
    try:
        booster = lgb.Booster(model_file=str(path))
    except lgb.basic.LightGBMError as exc:
        raise bad(f"model.txt cannot be read by LightGBM ({exc})") from None
    if booster.num_feature() != n_features:
        raise bad(f"model.txt has {booster.num_feature()} features, {config_file} lists {n_features}")
    return booster
