"""Recommendation speed: recommend latency against implicit's own, event ingestion into SQLite, server load.

1. ``recommend`` for one user (top 10, seen items left out) on a 10,000-item ALS model (64 factors,
   trained here on synthetic Zipf-distributed interactions: speed does not depend on what the data
   means): implicit 0.7.3's ``model.recommend(user, user_items[user], N=10)`` (the baseline) and
   ours (``scoring.Recommender.recommend``, the same factors), p50/p99 over the same users;
   then the whole task (pydantic in and out, event-store lookup) on the shipped MovieLens model.
2. Events per second into the SQLite event store (WAL; synchronous=FULL and NORMAL), batches of 1
   and 100, validation included (``record_events``).
3. ``--server``: a real ``modelbay serve`` under 32 concurrent clients for ``--seconds``: recommend
   p50/p99 and requests/s, and events/s in batches of 100.

    python bench/recommend_latency.py [--server] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_s)
    return ordered[len(ordered) // 2] * 1e3, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3


def synthetic_frame(n_users: int = 20_000, n_items: int = 10_000, per_user: int = 25, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1) ** 0.8
    items = rng.choice(n_items, size=n_users * per_user, p=p / p.sum())
    users = np.repeat(np.arange(n_users), per_user)
    return pd.DataFrame({"user_id": users.astype(str), "item_id": items.astype(str),
                         "timestamp": np.arange(len(users), dtype=float), "weight": 1.0})


def bench_recommend(n_users: int = 2000) -> None:
    from implicit.als import AlternatingLeastSquares

    from modelbay.tasks.recommendation.fitting import FitConfig, build_model
    from modelbay.tasks.recommendation.scoring import Recommender

    t0 = time.perf_counter()
    model = build_model(synthetic_frame(), FitConfig(factors=64, iterations=10))
    print(f"10k-item ALS model: {len(model.user_ids)} users, {len(model.item_ids)} items, "
          f"{model.user_items.nnz} interactions, trained in {time.perf_counter() - t0:.1f} s")
    baseline = AlternatingLeastSquares(factors=64)
    baseline.item_factors, baseline.user_factors = model.item_factors, model.user_factors
    ours, ui = Recommender(model), model.user_items
    users = list(range(0, len(model.user_ids), max(1, len(model.user_ids) // n_users)))[:n_users]
    timings: dict[str, list[float]] = {"implicit recommend (baseline)": [], "ours": []}
    for u in users:
        t = time.perf_counter()
        baseline.recommend(u, ui[u], N=10, filter_already_liked_items=True)
        timings["implicit recommend (baseline)"].append(time.perf_counter() - t)
        t = time.perf_counter()
        ours.recommend(str(model.user_ids[u]), 10)
        timings["ours"].append(time.perf_counter() - t)
    for name, samples in timings.items():
        p50, p99 = percentiles(samples)
        print(f"  {name:32s} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms  ({len(samples)} users)")
    ratio = statistics.median(timings["implicit recommend (baseline)"]) / statistics.median(timings["ours"])
    print(f"  p50 ratio baseline / ours = {ratio:.2f}x")


def bench_task(n: int = 1000) -> None:
    import modelbay

    task = modelbay.pipeline("recommendation")
    task([{"user_id": "15"}])
    samples = []
    for i in range(n):
        t = time.perf_counter()
        task([{"user_id": str(1 + i % 671), "k": 10}])
        samples.append(time.perf_counter() - t)
    p50, p99 = percentiles(samples)
    print(f"whole task, shipped MovieLens model (9,066 items), one user per call: p50 {p50:.3f} ms  p99 {p99:.3f} ms")


def bench_events(seconds: float = 3.0) -> None:
    import modelbay

    task = modelbay.pipeline("recommendation").task
    for synchronous in ("FULL", "NORMAL"):
        os.environ["MODELBAY_EVENTS_SYNCHRONOUS"] = synchronous
        for batch in (1, 100):
            with tempfile.TemporaryDirectory() as tmp:
                os.environ["MODELBAY_EVENTS_URL"] = f"sqlite:///{Path(tmp) / 'events.db'}"
                done, n, t0 = 0, 0, time.perf_counter()
                while time.perf_counter() - t0 < seconds:
                    events = [{"user_id": f"u{(n + j) % 5000}", "item_id": str(1 + (n + j) % 9000), "event": "click"}
                              for j in range(batch)]
                    done += task.record_events(events)
                    n += batch
                rate = done / (time.perf_counter() - t0)
                print(f"events into SQLite (synchronous={synchronous}, batches of {batch:3d}): {rate:9.0f} events/s")
    os.environ.pop("MODELBAY_EVENTS_SYNCHRONOUS", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", action="store_true", help="also load a real server with 32 concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["MODELBAY_HOME"] = home
        bench_recommend()
        bench_task()
        bench_events()
        if args.server:
            from recommend_load import server_load

            server_load(home, args.seconds)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
