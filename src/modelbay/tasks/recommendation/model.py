"""The recommendation model format, reader and writer together: ``recommendation.json`` + ``arrays.npz``.

    {"format": "modelbay.recommendation/1", "algorithm": "als", "n_users": 671, "n_items": 9066,
     "params": {"factors": 64, "regularization": 0.05, "alpha": 1.0, "weighting": "bm25"},
     "attributes": ["title", "genres"], "trained_until": 1476640644.0, "event_weights": {...}}

``arrays.npz`` (numpy, no pickles): ``user_ids``, ``item_ids`` (strings), the training interactions
as a CSR user × item matrix (``ui_indptr``, ``ui_indices``, ``ui_data``), ``popularity`` (users per
item) and ``trending`` (users per item in the last part of the training time), then what the
algorithm learned: ``item_factors`` and ``user_factors`` (als, bpr, two-tower; ``tower_*``: the
two-tower user tower's weights, for new users; ``item_scale``: the per-item
confidence scale BM25 weighting gave, applied to new events) or an item × item neighbour
matrix (``knn_indptr``, ``knn_indices``, ``knn_data``; item-knn), and ``attr_<name>`` per item
attribute (titles, genres) for filters and display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...ml.model_dir import atomic_model_dir, write_card, write_json

FORMAT = "modelbay.recommendation/1"
CONFIG_FILE = "recommendation.json"
ARRAYS_FILE = "arrays.npz"
ALGORITHMS = ("als", "bpr", "item-knn", "popularity", "two-tower")
FACTOR_ALGORITHMS = ("als", "bpr", "two-tower")
TOWER_ARRAYS = ("history", "user_out_w", "user_out_b")


@dataclass
class RecommendationModel:
    """Everything a recommender needs at run time, as numpy arrays (see the module docstring)."""

    algorithm: str
    user_ids: Any
    item_ids: Any
    user_items: Any                                  # scipy CSR, users × items, interaction weights
    popularity: Any
    trending: Any
    params: dict[str, Any] = field(default_factory=dict)
    item_factors: Any = None
    user_factors: Any = None
    neighbours: Any = None                           # scipy CSR, items × items similarities (item-knn)
    item_scale: Any = None                           # per-item confidence scale of new events (als with bm25)
    tower: dict[str, Any] | None = None              # two-tower: the user tower's weights (history, user_out_w/b)
    attributes: dict[str, Any] = field(default_factory=dict)
    trained_until: float | None = None
    event_weights: dict[str, float] = field(default_factory=dict)
    #: item text vectors for ``liked_text`` (``content.py``), made at training with ``content_vectors=true``:
    #: (candidate item indices, float16 vectors, the embedding model's name)
    content: tuple[Any, Any, str] | None = None


def write_recommendation_model(out_dir: Path, model: RecommendationModel, card: dict[str, Any]) -> None:
    """``recommendation.json``, ``arrays.npz`` and ``model_card.json``, atomically."""
    import numpy as np

    ui = model.user_items.tocsr()
    arrays = {"user_ids": np.asarray(model.user_ids, dtype=str), "item_ids": np.asarray(model.item_ids, dtype=str),
              "ui_indptr": ui.indptr, "ui_indices": ui.indices, "ui_data": ui.data.astype(np.float32),
              "popularity": np.asarray(model.popularity, dtype=np.float32),
              "trending": np.asarray(model.trending, dtype=np.float32)}
    if model.item_factors is not None:
        arrays["item_factors"] = np.asarray(model.item_factors, dtype=np.float32)
        arrays["user_factors"] = np.asarray(model.user_factors, dtype=np.float32)
    if model.item_scale is not None:
        arrays["item_scale"] = np.asarray(model.item_scale, dtype=np.float32)
    for name, values in (model.tower or {}).items():
        arrays[f"tower_{name}"] = np.asarray(values, dtype=np.float32)
    if model.neighbours is not None:
        nb = model.neighbours.tocsr()
        arrays.update(knn_indptr=nb.indptr, knn_indices=nb.indices, knn_data=nb.data.astype(np.float32))
    for name, values in model.attributes.items():
        arrays[f"attr_{name}"] = np.asarray(values, dtype=str)
    if model.content is not None:
        arrays.update(content_items=np.asarray(model.content[0], dtype=np.int64),
                      content_vectors=np.asarray(model.content[1], dtype=np.float16))
    config = {"format": FORMAT, "algorithm": model.algorithm, "n_users": len(model.user_ids),
              "n_items": len(model.item_ids), "params": model.params, "attributes": list(model.attributes),
              "trained_until": model.trained_until, "event_weights": model.event_weights,
              "content_model": model.content[2] if model.content is not None else None}
    with atomic_model_dir(out_dir) as tmp:
        np.savez_compressed(tmp / ARRAYS_FILE, **arrays)
        write_json(tmp, CONFIG_FILE, config)
        write_card(tmp, card)


def read_recommendation_model(path: str | Path) -> RecommendationModel:
    """The model in directory ``path``; a missing or inconsistent file is a ``ModelUnavailable`` saying what to do."""
    import numpy as np
    import scipy.sparse as sp

    from ...ml.model_files import ModelDir

    d = ModelDir(Path(path), hint="retrain it with `modelbay train recommendation --data interactions.csv`")
    config = d.config(CONFIG_FILE, (FORMAT,), required=("algorithm", "n_users", "n_items", "params"))
    if config["algorithm"] not in ALGORITHMS:
        raise d.error(f"{CONFIG_FILE}: unknown algorithm {config['algorithm']!r}; known: {', '.join(ALGORITHMS)}")
    try:
        with np.load(Path(path) / ARRAYS_FILE, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise d.error(f"{ARRAYS_FILE} is missing or unreadable ({exc})") from None
    n_users, n_items = int(config["n_users"]), int(config["n_items"])
    try:
        ui = sp.csr_matrix((a["ui_data"], a["ui_indices"], a["ui_indptr"]), shape=(n_users, n_items))
        nb = (sp.csr_matrix((a["knn_data"], a["knn_indices"], a["knn_indptr"]), shape=(n_items, n_items))
              if "knn_indptr" in a else None)
    except (KeyError, ValueError) as exc:
        raise d.error(f"{ARRAYS_FILE}: the interaction arrays do not fit {n_users} users × {n_items} items ({exc})") from None
    if len(a["item_ids"]) != n_items or len(a["user_ids"]) != n_users:
        raise d.error(f"{ARRAYS_FILE}: {len(a['user_ids'])} user and {len(a['item_ids'])} item ids for "
                      f"{n_users} users and {n_items} items")
    if config["algorithm"] in FACTOR_ALGORITHMS and a.get("item_factors", np.empty((0,))).shape[:1] != (n_items,):
        raise d.error(f"{ARRAYS_FILE}: a {config['algorithm']} model needs item_factors for {n_items} items")
    return RecommendationModel(
        algorithm=config["algorithm"], user_ids=a["user_ids"], item_ids=a["item_ids"], user_items=ui,
        popularity=a["popularity"], trending=a["trending"], params=dict(config["params"]),
        item_factors=a.get("item_factors"), user_factors=a.get("user_factors"), neighbours=nb,
        item_scale=a.get("item_scale"),
        tower={n: a[f"tower_{n}"] for n in TOWER_ARRAYS} if all(f"tower_{n}" in a for n in TOWER_ARRAYS) else None,
        attributes={n: a[f"attr_{n}"] for n in config.get("attributes", []) if f"attr_{n}" in a},
        trained_until=config.get("trained_until"), event_weights=dict(config.get("event_weights") or {}),
        content=((a["content_items"], a["content_vectors"], str(config["content_model"]))
                 if "content_vectors" in a and config.get("content_model") else None))
