"""Scoring a loaded recommendation model: top-k items for a user or a history, and similar items.

Pure numpy at run time (no ``implicit`` import): a known user's scores are their factors times the
item factors (als, bpr) or their items times the neighbour matrix (item-knn). Items a user
interacted with after training (events, or a request's ``history``) are folded in: for ALS the
user's factors are solved again from the training items plus the new ones (the same least-squares
step ALS trains with), so a new user is personalised from their first event. A user with nothing
known gets the trending items (most users in the last part of the training time, then all-time).

>>> rec = Recommender(read_recommendation_model("models/recommend-movielens"))     # doctest: +SKIP
>>> ranked = rec.recommend("15", k=3)                                               # doctest: +SKIP
>>> ranked.strategy, [rec.item_ids[i] for i, _ in ranked.items]                      # doctest: +SKIP
('personal', ['1196', '260', '1210'])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ...core.errors import BadInput
from .model import RecommendationModel


@dataclass
class Ranked:
    items: list[tuple[int, float]]     # (item index, score), best first
    strategy: str                      # personal, history, content, popular, similar
    reason: str


def _split_values(text: str) -> set[str]:
    """An attribute's values: ``"Action|Sci-Fi"`` → {"action", "sci-fi"} (``|``, ``,`` or ``;`` separated)."""
    for sep in ("|", ";", ","):
        if sep in text:
            return {v.strip().lower() for v in text.split(sep) if v.strip()}
    return {text.strip().lower()} if text.strip() else set()


def _matvec(matrix, vector):
    """``matrix @ vector`` in this thread: BLAS would wake its thread pool for a 10k × 64 product, which on a
    busy machine (a server running other models) costs milliseconds of waiting for microseconds of work."""
    import numpy as np

    return np.einsum("ij,j->i", matrix, np.asarray(vector, dtype=matrix.dtype))


class Recommender:
    def __init__(self, model: RecommendationModel) -> None:
        import numpy as np

        self.model = model
        self.item_ids = [str(x) for x in model.item_ids]
        self.item_index = {item: i for i, item in enumerate(self.item_ids)}
        self.user_index = {str(u): i for i, u in enumerate(model.user_ids)}
        self.n_items = len(self.item_ids)
        popular = np.asarray(model.trending, dtype=np.float64) + 1e-6 * np.asarray(model.popularity, dtype=np.float64)
        self.popular_scores = popular
        self.item_scale = np.ones(self.n_items) if model.item_scale is None else np.asarray(model.item_scale, dtype=np.float64)
        factors = model.item_factors
        if factors is not None:
            self.item_factors = np.asarray(factors, dtype=np.float32)
            norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
            self.unit_factors = self.item_factors / np.where(norms > 0, norms, 1)
            y = self.item_factors.astype(np.float64)
            self.yty = y.T @ y
        self._masks: dict[tuple[str, str], Any] = {}
        self._values: dict[str, list[set[str]]] = {}

    # -- filters ----------------------------------------------------------------------------------
    def filter_mask(self, filters: dict[str, Any] | None):
        """Items whose every named attribute has one of the wanted values (case-insensitive), or None."""
        import numpy as np

        if not filters:
            return None
        mask = np.ones(self.n_items, dtype=bool)
        for name, wanted in filters.items():
            if name not in self.model.attributes:
                known = ", ".join(self.model.attributes) or "none (train with item attribute columns such as genres)"
                raise BadInput(f"filters: no item attribute {name!r}; this model's attributes: {known}")
            values = [wanted] if isinstance(wanted, (str, int, float)) else list(wanted)
            key = (name, "\x00".join(sorted(str(v).lower() for v in values)))
            if key not in self._masks:
                per_item = self._values.get(name)
                if per_item is None:
                    per_item = self._values[name] = [_split_values(str(v)) for v in self.model.attributes[name]]
                want = {str(v).strip().lower() for v in values}
                self._masks[key] = np.fromiter((bool(v & want) for v in per_item), dtype=bool, count=self.n_items)
            mask &= self._masks[key]
        return mask

    # -- scores -----------------------------------------------------------------------------------
    def _training_row(self, user: int | None) -> tuple[list[int], list[float]]:
        if user is None:
            return [], []
        ui = self.model.user_items
        lo, hi = ui.indptr[user], ui.indptr[user + 1]
        return ui.indices[lo:hi].tolist(), ui.data[lo:hi].tolist()

    def _fold_in(self, items: list[int], weights: list[float]):
        """ALS's least-squares user step on ``items``; BPR: the mean of their factors; two-tower: its user tower."""
        import numpy as np

        if self.model.algorithm == "two-tower":
            from .two_tower import user_vector

            return user_vector(self.model.tower, items, weights)
        y = self.item_factors[items].astype(np.float64)
        if self.model.algorithm == "bpr":
            vec = y.mean(axis=0)
            vec[-1] = 1.0  # implicit's BPR keeps a constant 1 in the user factors for the item bias
            return vec
        alpha, reg = float(self.model.params.get("alpha", 1.0)), float(self.model.params.get("regularization", 0.01))
        conf = alpha * np.asarray(weights, dtype=np.float64) * self.item_scale[items]
        a = self.yty + reg * np.eye(y.shape[1]) + (y.T * (conf - 1)) @ y
        return np.linalg.solve(a, y.T @ conf)

    def _scores(self, user: int | None, items: list[int], weights: list[float], folded: bool):
        import numpy as np

        algo = self.model.algorithm
        if algo == "popularity":
            return self.popular_scores
        if algo == "item-knn":
            row = np.zeros(self.n_items)
            np.add.at(row, items, weights)
            return np.asarray(self.model.neighbours.T @ row).ravel()
        vector = self.model.user_factors[user] if user is not None and not folded else self._fold_in(items, weights)
        return _matvec(self.item_factors, vector)

    def top(self, scores, k: int, excluded: Iterable[int], mask=None) -> list[tuple[int, float]]:
        import numpy as np

        scores = np.array(scores, dtype=np.float32)  # a copy: the caller's array (trending scores) stays as it is
        if mask is not None:
            scores[~mask] = -np.inf
        excluded = list(excluded)
        if excluded:
            scores[excluded] = -np.inf
        k = min(k, self.n_items)
        best = np.argpartition(scores, self.n_items - k)[-k:] if k < self.n_items else np.arange(self.n_items)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(i), float(scores[i])) for i in best if np.isfinite(scores[i])]

    def recommend(self, user_id: str | None, k: int = 10, *, exclude_seen: bool = True,
                  filters: dict[str, Any] | None = None, history: list[tuple[str, float]] = (),
                  exclude_items: Iterable[str] = (), content: tuple[str, Callable[[], Any]] | None = None) -> Ranked:
        """Top ``k`` items for ``user_id`` (None: anonymous) given their newer ``history`` of (item id, weight).

        ``content``: (what the user likes, in words; a function giving every item's score for it), used
        instead of the trending items when nothing the user did is known (content-based cold start).
        """
        user = self.user_index.get(str(user_id)) if user_id is not None else None
        items, weights = self._training_row(user)
        extra = [(self.item_index[i], w) for i, w in history if i in self.item_index]
        for i, w in extra:
            items.append(i)
            weights.append(w)
        excluded = {self.item_index[i] for i in exclude_items if i in self.item_index}
        if exclude_seen:
            excluded.update(items)
        mask = self.filter_mask(filters)
        if not items and content is not None:
            return Ranked(self.top(content[1](), k, excluded, mask), "content",
                          f"no known items: items whose text is closest to {content[0][:60]!r}")
        if not items or self.model.algorithm == "popularity":
            why = ("a popularity model" if self.model.algorithm == "popularity" else
                   f"unknown user {user_id!r}" if user_id is not None and user is None else "no user and no history")
            return Ranked(self.top(self.popular_scores, k, excluded, mask), "popular", f"{why}: trending items")
        scores = self._scores(user, items, weights, folded=bool(extra))
        strategy = "personal" if user is not None else "history"
        reason = (f"{self.model.algorithm} factors of user {user_id!r}" if user is not None and not extra else
                  f"{self.model.algorithm} on {len(items)} items ({len(extra)} since training)")
        return Ranked(self.top(scores, k, excluded, mask), strategy, reason)

    def similar(self, item_id: str, k: int = 10, filters: dict[str, Any] | None = None) -> Ranked:
        """The ``k`` items most similar to ``item_id`` (cosine of item factors, neighbours, or co-occurrence)."""
        import numpy as np

        item = self.item_index.get(str(item_id))
        mask = self.filter_mask(filters)
        if item is None:
            return Ranked(self.top(self.popular_scores, k, (), mask), "popular",
                          f"unknown item {item_id!r}: trending items")
        if self.model.item_factors is not None:
            scores = _matvec(self.unit_factors, self.unit_factors[item])
            how = "cosine of item factors"
        elif self.model.neighbours is not None:
            scores = self.model.neighbours[item].toarray().ravel()
            how = "item-knn neighbours"
        else:
            iu = self.model.user_items.T.tocsr()
            col = iu[item]
            norms = np.sqrt(np.asarray(iu.multiply(iu).sum(axis=1)).ravel())
            scores = np.asarray((iu @ col.T).todense()).ravel() / np.where(norms > 0, norms, 1) / max(norms[item], 1e-9)
            how = "cosine of co-occurrence"
        return Ranked(self.top(scores, k, (item,), mask), "similar", how)

    def attributes_of(self, item: int) -> dict[str, str]:
        return {name: str(values[item]) for name, values in self.model.attributes.items()}
