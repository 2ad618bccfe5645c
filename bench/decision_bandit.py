"""A simulated offer scenario: contextual bandits against a fixed offer and random offers, with a regret curve.

A SIMULATION: every number of the shop below (segments, baskets, how each offer converts) is
written by us, so the result shows the mechanics (a bandit that learns who responds to which offer
beats the best single offer), not a real uplift. An online shop shows one of four offers at
checkout; a customer has a segment (new, returning, loyal), a device and a basket in EUR, and
converts with a probability that depends on all of them and the offer (a logistic model, so
the bandits' linear reward model is only an approximation). Each round a customer arrives, the
policy picks an offer, the customer converts or not, and the bandits update (Sherman–Morrison).

Regret is the oracle's conversion probability (the best offer for this customer) minus that of the
chosen offer, summed over rounds. Policies: Thompson sampling, LinUCB and ε-greedy
(``modelbay.tasks.decision.linear``), the best offer on average (the fixed policy a team would ship
after an A/B test, computed from the simulator's truth) and uniformly random offers.

Second part, off-policy evaluation: 5,000 rounds logged by the random policy (propensity 1/4)
train a Thompson policy offline; IPS, SNIPS and DR estimate its value on another 5,000 logged
rounds, next to its true value (known here, from the simulator).

    python bench/decision_bandit.py --rounds 5000 --seeds 3 --render docs/img/decision_regret.png
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

OFFERS = ["free_shipping", "ten_percent_off", "bundle_deal", "no_offer"]
SEGMENTS = ["new", "returning", "loyal"]
#: logit of conversion: base per offer, + per segment, + per device, + slope on standardised basket
BASE = {"free_shipping": -1.6, "ten_percent_off": -1.5, "bundle_deal": -1.9, "no_offer": -2.2}
SEGMENT_EFFECT = {"free_shipping": (0.6, 0.0, -0.6), "ten_percent_off": (0.9, 0.0, -0.9),
                  "bundle_deal": (-0.8, 0.3, 1.2), "no_offer": (-0.3, 0.0, 0.9)}
MOBILE_EFFECT = {"free_shipping": 0.4, "ten_percent_off": 0.0, "bundle_deal": -0.3, "no_offer": 0.0}
BASKET_SLOPE = {"free_shipping": -0.6, "ten_percent_off": 0.5, "bundle_deal": 0.3, "no_offer": 0.0}


def customers(rng, n: int) -> list[dict]:
    seg = rng.choice(3, size=n, p=[0.4, 0.35, 0.25])
    mobile = rng.random(n) < 0.6
    basket = np.round(np.exp(rng.normal(3.5, 0.6, size=n)), 2)
    return [{"segment": SEGMENTS[s], "device": "mobile" if m else "desktop", "basket_eur": float(b)}
            for s, m, b in zip(seg, mobile, basket)]


def conversion(ctx: dict) -> np.ndarray:
    """True conversion probability of each offer for one customer."""
    s, z = SEGMENTS.index(ctx["segment"]), (np.log(ctx["basket_eur"]) - 3.5) / 0.6
    logits = [BASE[o] + SEGMENT_EFFECT[o][s] + MOBILE_EFFECT[o] * (ctx["device"] == "mobile") + BASKET_SLOPE[o] * z
              for o in OFFERS]
    return 1 / (1 + np.exp(-np.asarray(logits)))


def run_online(policy: str, seed: int, rounds: int, encoder, best_fixed: int) -> np.ndarray:
    """Per-round regret of one policy in one simulated run."""
    from modelbay.tasks.decision.linear import BanditConfig, LinearBandit

    rng = np.random.default_rng(seed)
    people = customers(rng, rounds)
    x_all = encoder.transform(people)
    bandit = None
    if policy in ("thompson", "linucb", "epsilon-greedy"):
        bandit = LinearBandit.empty(OFFERS, encoder.dim, BanditConfig(method=policy, ridge=1.0, thompson_draws=200),
                                    noise_sd=0.4)
    draw_rng = np.random.default_rng(seed + 1000)
    regret = np.zeros(rounds)
    for t, (ctx, x) in enumerate(zip(people, x_all)):
        truth = conversion(ctx)
        if bandit is not None:
            probs = bandit.probabilities(x[None, :], list(range(len(OFFERS))))[0]
            a = int(draw_rng.choice(len(OFFERS), p=probs / probs.sum()))
        else:
            a = best_fixed if policy == "fixed" else int(draw_rng.integers(len(OFFERS)))
        reward = float(draw_rng.random() < truth[a])
        if bandit is not None:
            bandit.update(x, OFFERS[a], reward)
        regret[t] = truth.max() - truth[a]
    return regret


def ope_check(encoder, seed: int, n_logged: int) -> dict:
    """Off-policy estimates of a Thompson policy trained on random logs, against its true value."""
    from modelbay.ml.metrics.decision import decision
    from modelbay.tasks.decision.linear import BanditConfig, LinearBandit
    from modelbay.tasks.decision.model import BanditPolicy

    rng = np.random.default_rng(seed)

    def log(people):
        actions = rng.integers(len(OFFERS), size=len(people))
        rewards = np.array([float(rng.random() < conversion(c)[a]) for c, a in zip(people, actions)])
        return actions, rewards

    train_people, test_people = customers(rng, n_logged), customers(rng, n_logged)
    actions, rewards = log(train_people)
    bandit = LinearBandit.fit(encoder.transform(train_people), actions, rewards, OFFERS, BanditConfig(method="thompson"))
    answers = BanditPolicy(bandit, encoder).decide(test_people, [None] * len(test_people))
    test_actions, test_rewards = log(test_people)
    truths = [{"action": OFFERS[a], "reward": r, "propensity": 1 / len(OFFERS)} for a, r in zip(test_actions, test_rewards)]
    est = decision(truths, [{"probabilities": p, "scores": s} for p, s in answers])
    true_value = float(np.mean([sum(p[o] * conversion(c)[i] for i, o in enumerate(OFFERS))
                                for c, (p, _) in zip(test_people, answers)]))
    return {"true_value": round(true_value, 4), **{k: round(est[k], 4) for k in ("ips", "snips", "dm", "dr", "logging_value")},
            "ess": round(est["ess"], 1)}


def render(curves: dict[str, np.ndarray], path: Path, rounds: int, seeds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for name, curve in curves.items():
        ax.plot(np.arange(1, rounds + 1), curve, label=name)
    ax.set_xlabel("customers (rounds)")
    ax.set_ylabel("cumulative regret (lost conversions)")
    ax.set_title(f"Simulated offers: cumulative regret, mean of {seeds} runs (simulation, not real data)", fontsize=9)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main() -> None:
    from modelbay.tasks.decision.features import ContextEncoder

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--render", type=Path, default=None, help="write the regret curve PNG here")
    args = parser.parse_args()
    encoder = ContextEncoder.fit(customers(np.random.default_rng(123), 2000))   # scaling only: no rewards seen
    sample = customers(np.random.default_rng(321), 50_000)
    mean_conv = np.mean([conversion(c) for c in sample], axis=0)
    best_fixed = int(mean_conv.argmax())
    oracle = float(np.mean([conversion(c).max() for c in sample]))
    policies = ["thompson", "linucb", "epsilon-greedy", "fixed", "random"]
    curves, totals, seconds = {}, {}, {}
    for policy in policies:
        t0 = time.perf_counter()
        runs = np.stack([run_online(policy, seed, args.rounds, encoder, best_fixed) for seed in range(args.seeds)])
        seconds[policy] = round((time.perf_counter() - t0) / args.seeds, 2)
        label = f"fixed ({OFFERS[best_fixed]})" if policy == "fixed" else policy
        curves[label] = runs.cumsum(axis=1).mean(axis=0)
        totals[label] = round(float(curves[label][-1]), 1)
    result = {"rounds": args.rounds, "seeds": args.seeds, "oracle_conversion": round(oracle, 4),
              "mean_conversion_per_offer": dict(zip(OFFERS, np.round(mean_conv, 4).tolist())),
              "cumulative_regret": totals, "seconds_per_run": seconds,
              "ratio_fixed_regret_to_thompson": round(totals[f"fixed ({OFFERS[best_fixed]})"] / totals["thompson"], 2),
              "ope_check": ope_check(encoder, 7, 5000)}
    print(json.dumps(result, indent=2))
    if args.render:
        render(curves, args.render, args.rounds, args.seeds)
        print(f"regret curve: {args.render}")


if __name__ == "__main__":
    main()
