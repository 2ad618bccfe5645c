"""A simulated product scenario for sequential decisions: pricing a limited stock over a selling season.

``modelbay/DynamicPricing-v0`` (a Gymnasium environment): a shop has ``inventory_units`` of a
product and ``season_days`` days to sell them; each day it picks one of ``prices_eur``. Buyers
arrive as a Poisson process whose daily mean falls with the price (constant elasticity around
``reference_price_eur``) and rises as the season ends (``late_demand_boost``: last-minute buyers),
and each buys one unit while stock lasts. The reward is the day's revenue in EUR; unsold stock is
worth nothing. The observation is ``[stock left / inventory_units, days left / season_days]``.

Every number here is ours, not measured: the scenario shows the mechanics (a policy that reacts
to stock and time can beat the best fixed price), not what a real shop would earn.

This module imports gymnasium at its top: only the reinforcement-learning path imports it.

>>> env = DynamicPricingEnv(season_days=3)
>>> obs, _ = env.reset(seed=0)
>>> obs.tolist(), env.action_names()[:2]
([1.0, 1.0], ['price_6', 'price_8'])
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

ENV_ID = "modelbay/DynamicPricing-v0"
OBSERVATION = ("stock_left", "days_left")


class DynamicPricingEnv(gym.Env):
    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, inventory_units: int = 40, season_days: int = 20,
                 prices_eur: tuple[float, ...] = (6, 8, 10, 12, 14, 16, 18), base_demand_per_day: float = 3.0,
                 reference_price_eur: float = 10.0, price_elasticity: float = 2.0, late_demand_boost: float = 2.0) -> None:
        if inventory_units < 1 or season_days < 1 or len(prices_eur) < 2 or min(prices_eur) <= 0:
            raise ValueError("need inventory_units >= 1, season_days >= 1 and at least two positive prices_eur")
        self.inventory_units, self.season_days = int(inventory_units), int(season_days)
        self.prices_eur = tuple(float(p) for p in prices_eur)
        self.base_demand_per_day, self.reference_price_eur = float(base_demand_per_day), float(reference_price_eur)
        self.price_elasticity, self.late_demand_boost = float(price_elasticity), float(late_demand_boost)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(len(self.prices_eur))
        self.stock, self.day = self.inventory_units, 0

    def action_names(self) -> list[str]:
        return [f"price_{p:g}" for p in self.prices_eur]

    def expected_demand(self, price_eur: float, day: int) -> float:
        """Mean buyers on ``day`` (0-based) at ``price_eur``."""
        late = 1.0 + self.late_demand_boost * day / max(self.season_days - 1, 1)
        return self.base_demand_per_day * late * math.exp(-self.price_elasticity * (price_eur / self.reference_price_eur - 1))

    def _obs(self) -> np.ndarray:
        return np.array([self.stock / self.inventory_units, (self.season_days - self.day) / self.season_days], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.stock, self.day = self.inventory_units, 0
        return self._obs(), {}

    def step(self, action):
        price = self.prices_eur[int(action)]
        buyers = int(self.np_random.poisson(self.expected_demand(price, self.day)))
        sold = min(buyers, self.stock)
        self.stock -= sold
        self.day += 1
        done = self.day >= self.season_days or self.stock == 0
        return self._obs(), float(price * sold), done, False, {"sold": sold, "price_eur": price}


def register_envs() -> None:
    """Register ``modelbay/DynamicPricing-v0`` with Gymnasium (idempotent)."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point=DynamicPricingEnv)


def make_env(env_id: str = ENV_ID, **kwargs: Any) -> gym.Env:
    register_envs()
    try:
        return gym.make(env_id, **kwargs).unwrapped if env_id == ENV_ID else gym.make(env_id, **kwargs)
    except (gym.error.Error, TypeError, ValueError) as exc:
        from ...core.errors import BadInput

        raise BadInput(f"environment {env_id!r}: {exc}", hint=f"use {ENV_ID} with its parameters, or a "
                       "registered Gymnasium environment with a discrete action space") from None


def run_episodes(env: gym.Env, choose, n_episodes: int, seed: int) -> list[float]:
    """Total reward of ``n_episodes`` episodes where ``choose(obs) -> action``; seeds ``seed``, ``seed + 1``…"""
    totals = []
    for episode in range(n_episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(choose(obs))
            total += reward
            done = terminated or truncated
        totals.append(total)
    return totals
