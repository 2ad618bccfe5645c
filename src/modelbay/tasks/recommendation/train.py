"""Train a recommendation model: ``modelbay train recommendation --data interactions.csv``.

The data is an interaction table (``data.py``): a CSV/TSV/JSONL/Parquet file, or the event store
itself (``--data "sqlite:///…/events.db?table=events"``), which is how events posted to
``/v1/events`` feed the next retrain. ``test_fraction`` keeps the last part of the time out of
training, so ``modelbay eval <model> --data <same table> --param test_fraction=<same>`` scores it
on later interactions only. ``tune=true`` picks factors, regularization and weighting on a
validation period carved from the end of the training period (never from the test period).

>>> card = train_recommendation("ratings.csv", Path("/tmp/recs"), {"test_fraction": 0.2})  # doctest: +SKIP
>>> card["training"]["n_users"], card["config"]["algorithm"]                                 # doctest: +SKIP
(524, 'als')
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...core.task import Progress
from ...ml.model_dir import utc_timestamp
from ...ml.progress import reporter
from .data import EVENT_WEIGHTS, InteractionColumns, evaluation_records, read_interactions, split_by_time
from .fitting import FitConfig, build_model
from .model import FORMAT, write_recommendation_model

#: the grid ``tune=true`` searches (ALS), each fitted on the training period minus its last part
TUNE_GRID = {"factors": (32, 64, 128), "regularization": (0.01, 0.05, 0.2), "weighting": ("none", "bm25")}


@dataclass
class RecommendationTrainConfig(FitConfig):
    """``--param`` options: FitConfig's, plus the data's columns and the held-out periods."""

    test_fraction: float = 0.0        # hold out the last part of the time (0: train on everything)
    tune: bool = False                # choose ALS settings on a validation period (the end of the training period)
    validation_fraction: float = 0.2  # the part of the training period tune=true validates on
    history_fraction: float = 0.5     # of each validation user's items: given as history, the rest to find
    user_col: str | None = None
    item_col: str | None = None
    time_col: str | None = None
    weight_col: str | None = None
    event_col: str | None = None
    attribute_cols: tuple[str, ...] | None = None
    content_vectors: bool = False     # embed the popular items' texts now, so liked_text needs no wait (~1 min)

    def columns(self) -> InteractionColumns:
        return InteractionColumns(self.user_col, self.item_col, self.time_col, self.weight_col, self.event_col,
                                  None if self.attribute_cols is None else tuple(self.attribute_cols))

    def fit_config(self, **changes: Any) -> FitConfig:
        values = {f.name: getattr(self, f.name) for f in fields(FitConfig)}
        return FitConfig(**{**values, **changes}).check()


def config_from(options: dict[str, Any]) -> RecommendationTrainConfig:
    from ...ml.options import config_from_options

    config = config_from_options(RecommendationTrainConfig, options, what="recommendation")
    if not 0 <= config.test_fraction < 1 or not 0 < config.validation_fraction < 1:
        raise BadInput(f"test_fraction must be in [0, 1) and validation_fraction in (0, 1), got "
                       f"{config.test_fraction} and {config.validation_fraction}")
    config.fit_config()
    return config


def training_period(frame, config: RecommendationTrainConfig):
    return split_by_time(frame, config.test_fraction)[0] if config.test_fraction > 0 else frame


def score_model(model, records: list[dict[str, Any]], k: int = 10) -> dict[str, Any]:
    """The "recommendation" metrics of ``model`` on evaluation records (``data.evaluation_records``)."""
    from ...ml.metrics.recommender import recommendation
    from .scoring import Recommender

    rec = Recommender(model)
    predictions = []
    for r in records:
        ranked = rec.recommend(r["user_id"], k, history=[(i, 1.0) for i in r["history"]])
        predictions.append([rec.item_ids[i] for i, _ in ranked.items])
    return recommendation([r["relevant_items"] for r in records], predictions,
                          {"k": k, "catalog_size": rec.n_items})


def tune(frame, config: RecommendationTrainConfig, progress: Progress = False) -> tuple[FitConfig, list[dict]]:
    """The ALS settings with the best validation NDCG@10, and every candidate's score."""
    import itertools

    fit_part, valid_part = split_by_time(frame, config.validation_fraction)
    records = evaluation_records(fit_part, valid_part, history_fraction=config.history_fraction)
    combos = list(itertools.product(*TUNE_GRID.values()))
    results = []
    with reporter(progress) as rep:
        tick = rep.stage("tune on the validation period", total=len(combos))
        for done, values in enumerate(combos, 1):
            changes = dict(zip(TUNE_GRID, values), algorithm="als")
            metrics = score_model(build_model(fit_part, config.fit_config(**changes)), records)
            results.append({**changes, "ndcg@10": round(metrics["ndcg@10"], 5), "recall@10": round(metrics["recall@10"], 5)})
            tick(done)
    best = max(results, key=lambda r: r["ndcg@10"])
    chosen = {k: best[k] for k in TUNE_GRID}
    return config.fit_config(algorithm="als", **chosen), results


def _content_vectors(model, rep) -> tuple:
    """The popular items' text vectors, stored with the model (``content.py``)."""
    import numpy as np

    from .content import ContentIndex

    tick = rep.stage("embed item texts", total=1)
    # the order the recommender serves cold starts from (scoring.Recommender.popular_scores)
    popular = np.asarray(model.trending, dtype=np.float64) + 1e-6 * np.asarray(model.popularity, dtype=np.float64)
    index = ContentIndex(model.attributes, popular)
    vectors = index.vectors()
    tick(1)
    return index.candidates, vectors, index.embedding_model


def train_recommendation(data: str | Path, out_dir: Path, options: dict[str, Any], progress: Progress = False, *,
                         name: str = "model", task: str = "recommendation") -> dict[str, Any]:
    """Fit (and optionally tune) a recommender on ``data``; writes the model and returns its card."""
    t0 = time.perf_counter()
    config = config_from(options)
    frame = read_interactions(data, config.columns())
    train = training_period(frame, config)
    if train["user_id"].nunique() < 2 or train["item_id"].nunique() < 2:
        raise BadInput(f"{data}: the training period has {train['user_id'].nunique()} user(s) and "
                       f"{train['item_id'].nunique()} item(s); a recommender needs at least 2 of each")
    grid: list[dict] = []
    fit_config = config.fit_config()
    if config.tune:
        fit_config, grid = tune(train, config, progress)
    with reporter(progress) as rep:
        tick = rep.stage(f"fit {fit_config.algorithm}", total=1)
        model = build_model(train, fit_config, EVENT_WEIGHTS)
        tick(1)
        if config.content_vectors:
            model.content = _content_vectors(model, rep)
    card = _card(data, config, fit_config, model, train, frame, grid, name=name, task=task)
    card["seconds"] = round(time.perf_counter() - t0, 2)
    write_recommendation_model(out_dir, model, card)
    return card


def _card(data, config, fit_config: FitConfig, model, train, frame, grid, *, name: str, task: str) -> dict[str, Any]:
    from ...core.version import __version__
    from ...ml.fingerprint import data_fingerprint, records_fingerprint

    source = data_fingerprint(str(data) if not isinstance(data, Path) else data)
    if source.get("sha256") is None:
        source["sha256"] = records_fingerprint(frame[["user_id", "item_id", "timestamp", "weight"]].to_dict("records"))
    validation = {"tuned_on": "the last validation_fraction of the training period", "grid": grid,
                  "best": max(grid, key=lambda r: r["ndcg@10"]) if grid else None} if grid else {}
    return {
        "name": name, "task": task, "base": "implicit" if fit_config.algorithm in ("als", "bpr", "item-knn") else "counts",
        "format": FORMAT, "created": utc_timestamp(),
        "description": f"{fit_config.algorithm} recommender on {len(train)} interactions of {Path(str(data)).name}",
        "data": {**source, "n_interactions": len(frame), "n_training_interactions": len(train)},
        "options": {"backend": "modelbay-recommendation"},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()} | fit_config.params()
        | {"algorithm": fit_config.algorithm},
        "training": {"n_users": len(model.user_ids), "n_items": len(model.item_ids), "trained_until": model.trained_until,
                     "attributes": list(model.attributes)},
        "metrics": {"validation": validation},
        "modelbay_version": __version__,
    }
