"""Pricing agents in the simulated pricing scenario against the best fixed price and the optimal policy.

A SIMULATION: ``modelbay/DynamicPricing-v0`` (``modelbay.tasks.decision.envs``) with its default
numbers, which are ours: 40 units, 20 days, prices 6–18 EUR, Poisson buyers whose mean falls with the
price and triples towards the end of the season. Each agent is trained with ``modelbay train``'s
trainer and scored on 200 episodes whose seeds training never used (the model card's validation);
the best fixed price is chosen on those same episodes (in hindsight). Because the simulator is known
here, the optimal policy's expected revenue is computed exactly by dynamic programming over
(stock, day): the ceiling no agent can beat on average.

    python bench/decision_pricing.py --methods q-learning:1000000 q-learning:200000 ppo:30000 dqn:30000
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path


def optimal_expected_revenue(env) -> tuple[float, dict[str, float]]:
    """Exact expected season revenue of the optimal policy and of each fixed price (dynamic programming)."""
    import numpy as np
    from scipy.stats import poisson

    def value(choose_best: bool, fixed_price: float | None = None) -> float:
        v = np.zeros(env.inventory_units + 1)
        for day in reversed(range(env.season_days)):
            new = np.zeros_like(v)
            for stock in range(1, env.inventory_units + 1):
                sold = np.arange(stock)
                options = []
                for price in (env.prices_eur if choose_best else (fixed_price,)):
                    pmf = poisson.pmf(sold, env.expected_demand(price, day))
                    tail = 1.0 - pmf.sum()              # demand of `stock` or more: everything sells
                    options.append(float((pmf * (price * sold + v[stock - sold])).sum() + tail * price * stock))
                new[stock] = max(options)
            v = new
        return float(v[env.inventory_units])

    return value(True), {f"price_{p:g}": value(False, p) for p in env.prices_eur}


def main() -> None:
    from modelbay.tasks.decision.envs import DynamicPricingEnv
    from modelbay.tasks.decision.train import train_decision

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="+", default=["q-learning:1000000", "q-learning:200000", "ppo:30000", "dqn:30000"],
                        help="METHOD:TIMESTEPS")
    args = parser.parse_args()
    optimum, fixed = optimal_expected_revenue(DynamicPricingEnv())
    result = {"optimal_expected_revenue_eur": round(optimum, 1),
              "fixed_price_expected_revenue_eur": {k: round(v, 1) for k, v in fixed.items()}, "agents": {}}
    env_file = Path(tempfile.mkdtemp()) / "pricing.json"
    env_file.write_text(json.dumps({"env": "modelbay/DynamicPricing-v0"}))
    for spec in args.methods:
        method, steps = spec.split(":")
        t0 = time.perf_counter()
        card = train_decision(env_file, env_file.parent / spec.replace(":", "-"), {"method": method, "timesteps": int(steps)})
        v = card["metrics"]["validation"]
        result["agents"][spec] = {
            "timesteps": int(steps), "train_seconds": round(time.perf_counter() - t0, 1),
            "mean_revenue_eur": v["mean_episode_reward"], "best_fixed": v["best_fixed_action"],
            "best_fixed_mean_revenue_eur": v["best_fixed_mean_reward"], "random_mean_revenue_eur": v["random_mean_reward"],
            "ratio_to_best_fixed": v["ratio_to_best_fixed"],
            "share_of_optimum": round(v["mean_episode_reward"] / optimum, 3) if not math.isclose(optimum, 0) else None}
        print(json.dumps({spec: result["agents"][spec]}), flush=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
