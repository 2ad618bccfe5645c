"""Linear contextual bandits: one Bayesian ridge regression of reward on context per action.

The three methods share the same state, per action ``a``: ``A_a = λI + Σ x xᵀ`` (kept as its inverse)
and ``b_a = Σ r·x``, so the posterior mean is ``θ_a = A_a⁻¹ b_a`` and the uncertainty of the reward
estimate at ``x`` is ``σ·sqrt(xᵀ A_a⁻¹ x)`` (``σ``: the residual standard deviation of the rewards).
A logged table fits it in one pass; each new reward updates it in O(d²) (Sherman–Morrison).

- ``thompson``: sample each action's reward from its posterior, take the best; the probability of
  each action is estimated from ``thompson_draws`` common draws (fixed seed: the same context
  always gets the same probabilities), and the action is then drawn from those probabilities, so
  the propensity a caller logs is exactly the one used.
- ``linucb``: the best upper confidence bound ``mean + alpha·sd`` (deterministic: probability 1).
- ``epsilon-greedy``: the best mean with probability ``1 − ε``, otherwise a uniform action.

Hand-written (numpy, a few lines each): Vowpal Wabbit has ε-greedy and others but no LinUCB or
linear Thompson sampling and no closed-form updates; Open Bandit Pipeline needs Python < 3.11 since 0.5.

>>> import numpy as np
>>> bandit = LinearBandit.fit(np.array([[1.0], [1.0], [1.0]]), np.array([0, 1, 1]), np.array([0.0, 1.0, 1.0]),
...                           ["a", "b"], BanditConfig(method="epsilon-greedy", epsilon=0.2))
>>> bandit.probabilities(np.array([[1.0]]), [0, 1]).round(2).tolist()
[[0.1, 0.9]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...core.errors import BadInput

METHODS = ("thompson", "linucb", "epsilon-greedy")
#: the prior precisions ``ridge=auto`` chooses among, by leave-one-out error on the training rows
RIDGE_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)


def _loo_error(x, action_idx, rewards, k: int, ridge: float) -> float:
    """Mean squared leave-one-out error of the per-action ridge fits (closed form: ``r_i / (1 − h_ii)``)."""
    import numpy as np

    total = 0.0
    for i in range(k):
        rows = action_idx == i
        xi, ri = x[rows], rewards[rows]
        a_inv = np.linalg.inv(ridge * np.eye(x.shape[1]) + xi.T @ xi)
        leverage = ((xi @ a_inv) * xi).sum(axis=1)
        total += float((((ri - xi @ (a_inv @ (xi.T @ ri))) / (1.0 - leverage)) ** 2).sum())
    return total / max(len(rewards), 1)


@dataclass
class BanditConfig:
    method: str = "thompson"
    epsilon: float = 0.1            # epsilon-greedy: share of uniform exploration
    alpha: float = 1.0              # linucb: width of the bound, in posterior standard deviations
    ridge: float | str = "auto"     # prior precision λ (standardised features); auto: least leave-one-out error
    thompson_draws: int = 1000      # posterior draws that estimate Thompson sampling's probabilities

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise BadInput(f"method {self.method!r} is not a bandit method; choose one of {', '.join(METHODS)}")
        if not 0 <= self.epsilon <= 1:
            raise BadInput(f"epsilon must be between 0 and 1, got {self.epsilon}")
        if self.ridge != "auto":
            try:
                self.ridge = float(self.ridge)
            except (TypeError, ValueError):
                raise BadInput(f"ridge must be a positive number or 'auto', got {self.ridge!r}") from None
        if self.alpha < 0 or (self.ridge != "auto" and self.ridge <= 0) or not 10 <= self.thompson_draws <= 100_000:
            raise BadInput(f"need alpha >= 0, ridge > 0 and 10 <= thompson_draws <= 100000, got "
                           f"{self.alpha}, {self.ridge}, {self.thompson_draws}")


class LinearBandit:
    def __init__(self, actions: list[str], a_inv, b, counts, noise_sd: float, config: BanditConfig,
                 offset: float = 0.0) -> None:
        self.actions = list(actions)
        self.offset = float(offset)     # the prior mean reward: estimates shrink towards it, not towards 0
        self.index = {a: i for i, a in enumerate(self.actions)}
        self.a_inv, self.b, self.counts = a_inv, b, counts      # (K, d, d), (K, d), (K,)
        self.noise_sd = float(noise_sd)
        self.config = config

    @classmethod
    def empty(cls, actions: list[str], dim: int, config: BanditConfig, noise_sd: float = 1.0,
              offset: float = 0.0) -> LinearBandit:
        import numpy as np

        k = len(actions)
        return cls(actions, np.tile(np.eye(dim) / config.ridge, (k, 1, 1)), np.zeros((k, dim)), np.zeros(k, dtype=np.int64),
                   noise_sd, config, offset)

    @classmethod
    def fit(cls, x, action_idx, rewards, actions: list[str], config: BanditConfig) -> LinearBandit:
        """Fit every action's ridge regression on the rows that chose it."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # small matrices: BLAS threads only contend (9x slower on 2 busy cores)
            return cls._fit(x, action_idx, rewards, actions, config)

    @classmethod
    def _fit(cls, x, action_idx, rewards, actions: list[str], config: BanditConfig) -> LinearBandit:
        import numpy as np

        k, d = len(actions), x.shape[1]
        offset = float(rewards.mean()) if len(rewards) else 0.0
        rewards = rewards - offset
        if config.ridge == "auto":
            config.ridge = min(RIDGE_GRID, key=lambda lam: _loo_error(x, action_idx, rewards, k, lam))
        a_inv, b, counts = np.zeros((k, d, d)), np.zeros((k, d)), np.zeros(k, dtype=np.int64)
        residuals = []
        for i in range(k):
            rows = action_idx == i
            xi, ri = x[rows], rewards[rows]
            a_inv[i] = np.linalg.inv(config.ridge * np.eye(d) + xi.T @ xi)
            b[i], counts[i] = xi.T @ ri, int(rows.sum())
            residuals.append(ri - xi @ (a_inv[i] @ b[i]))
        res = np.concatenate(residuals) if residuals else np.zeros(0)
        noise_sd = float(np.sqrt(np.mean(res ** 2))) if len(res) else 1.0
        return cls(actions, a_inv, b, counts, max(noise_sd, 1e-3), config, offset)

    def update(self, x, action: str, reward: float) -> None:
        """Add one observed reward (Sherman–Morrison on ``A⁻¹``)."""
        i = self.index[action]
        ax = self.a_inv[i] @ x
        self.a_inv[i] -= (ax[:, None] @ ax[None, :]) / (1.0 + x @ ax)
        self.b[i] += (reward - self.offset) * x
        self.counts[i] += 1

    def means_and_sds(self, x, idx: list[int]):
        """Posterior mean reward and its standard deviation, ``(n, len(idx))`` each."""
        import numpy as np

        theta = np.einsum("kij,kj->ki", self.a_inv[idx], self.b[idx])           # (k, d)
        means = self.offset + x @ theta.T
        var = (np.einsum("nd,kde->nke", x, self.a_inv[idx], optimize=True) * x[:, None, :]).sum(axis=2)
        return means, self.noise_sd * np.sqrt(np.maximum(var, 0.0))

    def probabilities(self, x, idx: list[int]):
        """The policy's probability of each action in ``idx`` for each row of ``x``, ``(n, len(idx))``."""
        return self.probabilities_from(*self.means_and_sds(x, idx))

    def probabilities_from(self, means, sds):
        """Probabilities from the posterior means and standard deviations (``means_and_sds``)."""
        import numpy as np

        k = means.shape[1]
        method = self.config.method
        if method == "thompson":
            z = np.random.default_rng(0).standard_normal((self.config.thompson_draws, k), dtype=np.float32)
            m32, s32 = means.astype(np.float32), sds.astype(np.float32)     # float32: half the memory traffic
            winners = (m32[:, None, :] + s32[:, None, :] * z[None, :, :]).argmax(axis=2)   # (n, draws)
            return np.stack([np.bincount(w, minlength=k) for w in winners]) / self.config.thompson_draws
        score = means + self.config.alpha * sds if method == "linucb" else means
        best = np.isclose(score, score.max(axis=1, keepdims=True), rtol=0, atol=1e-12)
        greedy = best / best.sum(axis=1, keepdims=True)
        if method == "linucb":
            return greedy
        eps = self.config.epsilon
        return (1 - eps) * greedy + eps / k

    def state(self) -> dict[str, Any]:
        return {"a_inv": self.a_inv, "b": self.b, "counts": self.counts}
