"""Train a decision policy: a contextual bandit from logged decisions, or an agent in a Gymnasium environment.

Bandits (``method=thompson|linucb|epsilon-greedy``): ``data`` is a logged table (context columns,
action, reward, propensity). The card's validation is off-policy: a policy fitted on the first
``1 − holdout_fraction`` of the rows (in file order, so the holdout is the most recent) is scored
on the rest with IPS, SNIPS and DR against the logging policy's value; the stored policy is then
refitted on every row. Sequential decisions (``method=q-learning|dqn|ppo``): ``data`` is an
environment file (``rl.py``).

>>> card = train_decision(Path("logged.csv"), Path("/tmp/offers"), {"method": "thompson"})   # doctest: +SKIP
>>> card["metrics"]["validation"]["snips"], card["metrics"]["validation"]["logging_value"]    # doctest: +SKIP
(0.41, 0.30)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...core.task import Progress
from ...ml.model_dir import utc_timestamp
from ...ml.progress import reporter
from .data import Logged, LoggedColumns, read_logged
from .features import ContextEncoder
from .formats import FORMAT
from .linear import BanditConfig, LinearBandit
from .model import BanditPolicy, write_bandit_model
from .rl import RL_METHODS


@dataclass
class BanditTrainConfig:
    """Training options (``--param key=value``) for a contextual bandit."""

    method: str = "thompson"
    epsilon: float = 0.1
    alpha: float = 1.0
    ridge: str = "auto"                      # prior precision, or auto (least leave-one-out error)
    thompson_draws: int = 1000
    holdout_fraction: float = 0.2           # most recent share of rows scored off-policy (0: none)
    action_col: str = "action"
    reward_col: str = "reward"
    propensity_col: str = "propensity"
    context_cols: tuple[str, ...] = ()
    drop_cols: tuple[str, ...] = ()
    categorical_cols: tuple[str, ...] = ()
    format: str | None = None

    def columns(self) -> LoggedColumns:
        return LoggedColumns(self.action_col, self.reward_col, self.propensity_col, self.context_cols, self.drop_cols,
                             self.categorical_cols, self.format)

    def bandit(self) -> BanditConfig:
        return BanditConfig(self.method, self.epsilon, self.alpha, self.ridge, self.thompson_draws)


def train_decision(data: str | Path, out_dir: Path, options: dict[str, Any], progress: Progress = False, *,
                   name: str = "model", task: str = "decision") -> dict[str, Any]:
    """Train and store a policy; returns the model card."""
    if options.get("method") in RL_METHODS:
        from .rl_train import train_rl

        return train_rl(Path(data), out_dir, options, progress, name=name, task=task)
    from ...ml.options import config_from_options

    t0 = time.perf_counter()
    rl_only = sorted(set(options) & {"timesteps", "eval_episodes", "state_bins", "gamma", "learning_rate", "reward_scale"})
    if rl_only:
        raise BadInput(f"training option(s) {', '.join(rl_only)} are for agents (method=q-learning, dqn or ppo), "
                       f"not for the bandit method {options.get('method', 'thompson')!r}")
    config = config_from_options(BanditTrainConfig, options, what="decision (bandit)")
    config.bandit()  # checks method, epsilon…
    if not 0 <= config.holdout_fraction < 1:
        raise BadInput(f"holdout_fraction must be in [0, 1), got {config.holdout_fraction}")
    logged = read_logged(data, config.columns())
    if len(logged) < 2:
        raise BadInput(f"{data}: {len(logged)} logged decision; training needs at least 2")
    with reporter(progress) as rep:
        tick = rep.stage("fit bandit", total=2)
        validation = _validate(logged, config)
        tick(1)
        encoder, bandit = _fit(logged, config, logged.action_set())
        tick(2)
    card = _card(data, logged, config, validation, name=name, task=task)
    card["training"]["ridge"] = bandit.config.ridge      # the prior precision used (chosen, when ridge=auto)
    card["seconds"] = round(time.perf_counter() - t0, 2)
    write_bandit_model(out_dir, bandit, encoder, card)
    return card


def _fit(logged: Logged, config: BanditTrainConfig, actions: list[str]) -> tuple[ContextEncoder, LinearBandit]:
    import numpy as np

    encoder = ContextEncoder.fit(logged.contexts)
    index = {a: i for i, a in enumerate(actions)}
    x = encoder.transform(logged.contexts)
    action_idx = np.array([index[a] for a in logged.actions])
    return encoder, LinearBandit.fit(x, action_idx, np.asarray(logged.rewards, dtype=float), actions, config.bandit())


def _slice(logged: Logged, lo: int, hi: int) -> Logged:
    props = logged.propensities[lo:hi] if logged.propensities is not None else None
    return Logged(logged.contexts[lo:hi], logged.actions[lo:hi], logged.rewards[lo:hi], props, logged.lines[lo:hi])


def _validate(logged: Logged, config: BanditTrainConfig) -> dict[str, Any]:
    """Off-policy scores of a policy fitted on the older rows, on the most recent ``holdout_fraction``."""
    from ...ml.metrics.decision import decision

    n_holdout = int(len(logged) * config.holdout_fraction)
    if logged.propensities is None or n_holdout < 1:
        why = "no propensity column" if logged.propensities is None else "holdout_fraction leaves no rows"
        return {"skipped": f"no off-policy validation: {why}"}
    train, holdout = _slice(logged, 0, len(logged) - n_holdout), _slice(logged, len(logged) - n_holdout, len(logged))
    actions = train.action_set()
    encoder, bandit = _fit(train, config, actions)
    known = set(actions)
    rows = [i for i, a in enumerate(holdout.actions) if a in known]
    if not rows:
        return {"skipped": "no off-policy validation: no holdout action was seen in the training rows"}
    answers = BanditPolicy(bandit, encoder).decide([holdout.contexts[i] for i in rows], [None] * len(rows))
    truths = [{"action": holdout.actions[i], "reward": holdout.rewards[i], "propensity": holdout.propensities[i]}
              for i in rows]
    metrics = decision(truths, [{"probabilities": p, "scores": s} for p, s in answers])
    metrics.pop("headline", None)
    return {**metrics, "n_holdout": n_holdout, "n_holdout_unknown_action": n_holdout - len(rows)}


def _card(data: str | Path, logged: Logged, config: BanditTrainConfig, validation: dict[str, Any], *,
          name: str, task: str) -> dict[str, Any]:
    from ...core.version import __version__
    from ...ml.fingerprint import data_fingerprint

    actions = logged.action_set()
    counts = {a: 0 for a in actions}
    for a in logged.actions:
        counts[a] += 1
    return {
        "name": name, "task": task, "base": f"linear {config.method}", "format": FORMAT, "created": utc_timestamp(),
        "description": f"{config.method} over {len(actions)} actions, fitted on {len(logged)} logged decisions of "
                       f"{Path(str(data)).name}",
        "data": {**data_fingerprint(data), "n_decisions": len(logged), "mean_reward": sum(logged.rewards) / len(logged)},
        "options": {"backend": "linear-bandit"},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "training": {"actions": actions, "decisions_per_action": counts},
        "metrics": {"validation": validation},
        "warnings": [("off-policy estimates assume the logged propensities are right and every action the policy "
                      "may take had a non-zero logging probability; few effective samples (ess) mean wide error bars")],
        "modelbay_version": __version__,
    }


def evaluation_records(source: str | Path, options: dict[str, Any]) -> list[dict[str, Any]]:
    """Records for ``modelbay eval``: the context, every action of the data as candidates, and the logged decision."""
    from ...ml.options import config_from_options

    known = {"action_col", "reward_col", "propensity_col", "context_cols", "drop_cols", "categorical_cols", "format"}
    config = config_from_options(BanditTrainConfig, {k: v for k, v in options.items() if k in known}, what="decision")
    logged = read_logged(source, config.columns(), need_propensity=True)
    actions = logged.action_set()
    return [{"context": ctx, "actions": actions,
             "logged": {"action": a, "reward": r, "propensity": p}}
            for ctx, a, r, p in zip(logged.contexts, logged.actions, logged.rewards, logged.propensities or [])]
