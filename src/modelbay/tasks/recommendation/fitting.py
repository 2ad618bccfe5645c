"""Fitting one recommendation model on an interaction table: ALS, BPR, item-kNN (``implicit``),
popularity, or a two-tower network (PyTorch, ``two_tower.py``).

>>> model = build_model(read_interactions("ratings.csv", InteractionColumns()), FitConfig())   # doctest: +SKIP
>>> model.algorithm, model.item_factors.shape                                                   # doctest: +SKIP
('als', (9066, 64))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...core.errors import BadInput
from .model import ALGORITHMS, RecommendationModel

WEIGHTINGS = ("none", "bm25")


@dataclass
class FitConfig:
    """What one fit needs (``--param`` names of ``modelbay train recommendation``)."""

    algorithm: str = "als"            # als, bpr, item-knn, popularity, two-tower
    factors: int = 64                 # latent dimensions (als, bpr)
    regularization: float = 0.05      # L2 penalty (als, bpr)
    alpha: float = 1.0                # confidence scale of an interaction (als)
    iterations: int = 15              # epochs (als, bpr)
    learning_rate: float = 0.01       # bpr, two-tower
    epochs: int = 5                   # two-tower (2 and 5 tried on the MovieLens validation period: 5)
    temperature: float = 0.1          # two-tower: softmax temperature of the in-batch loss
    weighting: str = "bm25"           # none or bm25: weight interactions by item rarity and user activity (als)
    neighbours: int = 100             # item-knn: neighbours kept per item
    trending_fraction: float = 0.1    # the last part of the training time that "trending" counts users in
    seed: int = 0

    def check(self) -> FitConfig:
        if self.algorithm not in ALGORITHMS:
            raise BadInput(f"algorithm {self.algorithm!r} is not one of {', '.join(ALGORITHMS)}")
        if self.weighting not in WEIGHTINGS:
            raise BadInput(f"weighting {self.weighting!r} is not one of {', '.join(WEIGHTINGS)}")
        for name in ("factors", "iterations", "neighbours", "epochs"):
            if int(getattr(self, name)) < 1:
                raise BadInput(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.regularization < 0 or self.alpha <= 0 or not 0 < self.trending_fraction <= 1:
            raise BadInput("need regularization >= 0, alpha > 0 and 0 < trending_fraction <= 1, got "
                           f"{self.regularization}, {self.alpha}, {self.trending_fraction}")
        return self

    def params(self) -> dict[str, Any]:
        keep = {"als": ("factors", "regularization", "alpha", "iterations", "weighting"),
                "bpr": ("factors", "regularization", "iterations", "learning_rate"),
                "item-knn": ("neighbours",), "popularity": (),
                "two-tower": ("factors", "epochs", "learning_rate", "temperature")}[self.algorithm]
        return {k: getattr(self, k) for k in (*keep, "trending_fraction", "seed")}


def interaction_matrix(frame, item_ids=None):
    """``(user_ids, item_ids, users × items CSR of summed weights)``; ``item_ids`` fixes the item order."""
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    users = pd.Index(pd.unique(frame["user_id"]))
    items = pd.Index(pd.unique(frame["item_id"])) if item_ids is None else pd.Index(item_ids)
    rows, cols = users.get_indexer(frame["user_id"]), items.get_indexer(frame["item_id"])
    keep = cols >= 0
    matrix = sp.csr_matrix((frame["weight"].to_numpy(dtype=np.float32)[keep], (rows[keep], cols[keep])),
                           shape=(len(users), len(items)))
    matrix.sum_duplicates()
    return users.to_numpy(dtype=str), items.to_numpy(dtype=str), matrix


def _user_counts(frame, items, since: float):
    import numpy as np
    import pandas as pd

    recent = frame[frame["timestamp"] >= since].drop_duplicates(["user_id", "item_id"])
    counts = recent["item_id"].value_counts()
    out = np.zeros(len(items), dtype=np.float32)
    idx = pd.Index(items).get_indexer(counts.index)
    out[idx[idx >= 0]] = counts.to_numpy()[idx >= 0]
    return out


def _item_attributes(frame, items) -> dict[str, Any]:
    cols = [c for c in frame.columns if c not in ("user_id", "item_id", "timestamp", "weight")]
    firsts = frame.drop_duplicates("item_id").set_index("item_id")
    return {c: firsts[c].reindex(items).fillna("").astype(str).to_numpy(dtype=str) for c in cols}


def _fit_factors(config: FitConfig, ui) -> dict[str, Any]:
    import numpy as np
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking
    from implicit.nearest_neighbours import bm25_weight
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # implicit's own threads do the work; BLAS threads inside them only contend
        if config.algorithm == "als":
            weighted = ui
            if config.weighting == "bm25":
                weighted = bm25_weight(ui, K1=100, B=0.8).tocsr().astype(np.float32)
            algo = AlternatingLeastSquares(factors=config.factors, regularization=config.regularization,
                                           alpha=config.alpha, iterations=config.iterations, random_state=config.seed)
            algo.fit(weighted, show_progress=False)
            scale = _item_scale(ui, weighted) if config.weighting == "bm25" else None
            return {"item_factors": algo.item_factors, "user_factors": algo.user_factors, "item_scale": scale}
        algo = BayesianPersonalizedRanking(factors=config.factors, learning_rate=config.learning_rate,
                                           regularization=config.regularization, iterations=config.iterations,
                                           random_state=config.seed)
        algo.fit(ui, show_progress=False)
        return {"item_factors": algo.item_factors, "user_factors": algo.user_factors}


def _item_scale(raw, weighted):
    """Mean ratio of BM25 weight to raw weight per item: how much one new event of that item counts."""
    import numpy as np

    ratio = weighted.copy()
    ratio.data = weighted.data / np.maximum(raw.data, 1e-9)
    counts = np.diff(raw.tocsc().indptr)
    sums = np.asarray(ratio.sum(axis=0)).ravel()
    return np.where(counts > 0, sums / np.maximum(counts, 1), 1.0).astype(np.float32)


def _fit_neighbours(config: FitConfig, ui):
    import warnings

    from implicit.nearest_neighbours import BM25Recommender

    algo = BM25Recommender(K=config.neighbours, num_threads=0)
    with warnings.catch_warnings():  # implicit converts its own BM25 weights from COO and warns about it
        warnings.simplefilter("ignore")
        algo.fit(ui, show_progress=False)
    return algo.similarity.tocsr()


def build_model(frame, config: FitConfig, event_weights: dict[str, float] | None = None) -> RecommendationModel:
    """Fit ``config.algorithm`` on an interaction frame (``data.read_interactions``)."""
    import numpy as np

    config.check()
    user_ids, item_ids, ui = interaction_matrix(frame)
    ui.data[:] = np.minimum(ui.data, 1e6)
    first, last = float(frame["timestamp"].min()), float(frame["timestamp"].max())
    model = RecommendationModel(
        algorithm=config.algorithm, user_ids=user_ids, item_ids=item_ids, user_items=ui,
        popularity=_user_counts(frame, item_ids, first),
        trending=_user_counts(frame, item_ids, last - config.trending_fraction * (last - first)),
        params=config.params(), attributes=_item_attributes(frame, item_ids), trained_until=last,
        event_weights=dict(event_weights or {}))
    if config.algorithm in ("als", "bpr"):
        fitted = _fit_factors(config, ui)
        model.item_factors, model.user_factors = fitted["item_factors"], fitted["user_factors"]
        model.item_scale = fitted.get("item_scale")
    elif config.algorithm == "item-knn":
        model.neighbours = _fit_neighbours(config, ui)
    elif config.algorithm == "two-tower":
        from .two_tower import TwoTowerConfig, fit_two_tower, item_tokens

        tower = TwoTowerConfig(factors=config.factors, epochs=config.epochs, learning_rate=config.learning_rate,
                               temperature=config.temperature, seed=config.seed)
        fitted = fit_two_tower(ui, item_tokens(model.attributes, len(item_ids)), tower)
        model.item_factors, model.user_factors, model.tower = fitted["item_factors"], fitted["user_factors"], fitted["tower"]
    return model
