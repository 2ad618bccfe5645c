"""Train an agent (Q-learning, DQN, PPO) in a Gymnasium environment and score it against fixed and random actions.

The score is the mean total reward of ``eval_episodes`` episodes whose seeds (from 1,000,000 on)
training never used. The fixed-action baseline is the best single action over those same
episodes, chosen after seeing them, so it is if anything flattered: the agent has to beat the
best constant choice in hindsight.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...core.task import Progress
from ...ml.model_dir import utc_timestamp
from ...ml.progress import reporter
from .formats import FORMAT
from .rl import RlConfig, RlPolicy, env_names, read_env_file, train_q_learning, train_sb3, write_rl_model

EVAL_SEED = 1_000_000


def _check(config: RlConfig) -> None:
    from ...core.errors import BadInput

    if config.timesteps < 1 or config.eval_episodes < 1 or config.state_bins < 1:
        raise BadInput(f"timesteps, eval_episodes and state_bins must be at least 1, got {config.timesteps}, "
                       f"{config.eval_episodes}, {config.state_bins}")
    if not 0 < config.gamma <= 1 or not 0 < config.learning_rate <= 1 or config.reward_scale <= 0:
        raise BadInput(f"gamma and learning_rate must be in (0, 1] and reward_scale above 0, got {config.gamma}, "
                       f"{config.learning_rate}, {config.reward_scale}")


def train_rl(data: Path, out_dir: Path, options: dict[str, Any], progress: Progress = False, *,
             name: str = "model", task: str = "decision") -> dict[str, Any]:
    from ...ml.options import config_from_options
    from .envs import make_env

    t0 = time.perf_counter()
    config = config_from_options(RlConfig, options, what=f"decision ({options.get('method')})")
    _check(config)
    env_id, params = read_env_file(data)
    env = make_env(env_id, **params)
    observation, actions = env_names(env)
    with reporter(progress) as rep:
        tick = rep.stage(f"train {config.method}", total=config.timesteps)
        if config.method == "q-learning":
            agent = train_q_learning(env, config, tick)
        else:
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # a tiny MLP: one thread is faster and leaves the other cores alone
            try:
                agent = train_sb3(env, config, tick)
            finally:
                torch.set_num_threads(threads)
        tick(config.timesteps)
        policy = RlPolicy(config.method, observation, actions, agent, config.state_bins)
        validation = score_agent(make_env(env_id, **params), policy, config.eval_episodes, rep)
    card = {
        "name": name, "task": task, "base": config.method, "format": FORMAT, "created": utc_timestamp(),
        "description": f"{config.method} agent for {env_id} after {config.timesteps} steps",
        "data": {"file": str(data), "env": env_id, "params": params},
        "options": {"backend": config.method},
        "config": asdict(config),
        "metrics": {"validation": validation},
        "seconds": round(time.perf_counter() - t0, 2),
    }
    write_rl_model(out_dir, agent, config, {"env": env_id, "params": params}, observation, actions, card)
    return card


def score_agent(env, policy: RlPolicy, n_episodes: int, rep) -> dict[str, Any]:
    """Mean episode reward of the agent (greedy), of every fixed action, and of uniformly random actions."""
    import numpy as np

    from .envs import run_episodes

    tick = rep.stage("score", total=len(policy.actions) + 2)

    def greedy(obs):
        probs, _ = policy.full(np.asarray([obs], dtype=np.float32))
        return int(probs[0].argmax())

    agent = float(np.mean(run_episodes(env, greedy, n_episodes, EVAL_SEED)))
    tick(1)
    fixed = {}
    for k, action in enumerate(policy.actions):
        fixed[action] = float(np.mean(run_episodes(env, lambda obs, k=k: k, n_episodes, EVAL_SEED)))
        tick(k + 2)
    rng = np.random.default_rng(EVAL_SEED)
    random_mean = float(np.mean(run_episodes(env, lambda obs: int(rng.integers(len(policy.actions))), n_episodes, EVAL_SEED)))
    tick(len(policy.actions) + 2)
    best = max(fixed, key=fixed.get)
    return {"mean_episode_reward": round(agent, 4), "best_fixed_action": best,
            "best_fixed_mean_reward": round(fixed[best], 4), "random_mean_reward": round(random_mean, 4),
            "ratio_to_best_fixed": round(agent / fixed[best], 4) if fixed[best] else None,
            "fixed_action_mean_reward": {a: round(v, 4) for a, v in fixed.items()}, "eval_episodes": n_episodes}
