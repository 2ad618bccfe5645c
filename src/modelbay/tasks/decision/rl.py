"""Sequential decisions: tabular Q-learning (numpy) or DQN / PPO (stable-baselines3) on a Gymnasium environment.

``modelbay train decision --data pricing.json --param method=ppo`` reads an environment file,

    {"env": "modelbay/DynamicPricing-v0", "params": {"inventory_units": 60, "season_days": 20}}

trains for ``timesteps`` steps, scores the agent on ``eval_episodes`` episodes with seeds it never
trained on against the best fixed action and a uniformly random one, and stores it. At run time
the context is the observation by name (``{"stock_left": 0.5, "days_left": 0.25}``) and the answer
is an action name with its probability (PPO: its policy's; Q-learning and DQN: greedy, 1).

Q-learning is a few lines and needs no library; DQN and PPO are stable-baselines3's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from .formats import FILENAME, FORMAT, Answer

RL_METHODS = ("q-learning", "dqn", "ppo")
QTABLE = "qtable.npz"
AGENT = "agent.zip"


@dataclass
class RlConfig:
    method: str = "q-learning"
    timesteps: int = 20_000         # environment steps of training
    eval_episodes: int = 200        # episodes scoring the trained agent (seeds never used in training)
    seed: int = 0
    state_bins: int = 10            # q-learning: bins per observation dimension
    learning_rate: float = 0.1      # q-learning's step size (DQN and PPO keep stable-baselines3's defaults)
    gamma: float = 1.0              # discount per step (1: the season's total revenue counts, undiscounted)
    reward_scale: float = 0.01      # dqn/ppo train on reward × this (large rewards slow their value learning)


def read_env_file(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: not an environment file ({exc})",
                       hint='reinforcement learning reads JSON like {"env": "modelbay/DynamicPricing-v0", "params": {}}') from None
    if not isinstance(spec, dict) or not isinstance(spec.get("env"), str):
        raise BadInput(f"{path}: no \"env\" (a Gymnasium environment id)", hint='e.g. {"env": "modelbay/DynamicPricing-v0"}')
    params = spec.get("params") or {}
    if not isinstance(params, dict):
        raise BadInput(f"{path}: \"params\" must be an object of the environment's keyword arguments")
    return spec["env"], params


def env_names(env) -> tuple[list[str], list[str]]:
    import gymnasium as gym

    if not isinstance(env.action_space, gym.spaces.Discrete) or len(env.observation_space.shape or ()) != 1:
        raise BadInput("the environment needs a discrete action space and a flat observation vector")
    actions = env.action_names() if hasattr(env, "action_names") else [str(i) for i in range(env.action_space.n)]
    from .envs import OBSERVATION

    n_obs = env.observation_space.shape[0]
    observation = list(OBSERVATION) if n_obs == len(OBSERVATION) and hasattr(env, "action_names") else [f"obs_{i}" for i in range(n_obs)]
    return observation, actions


def _state(obs, bins: int) -> tuple[int, ...]:
    return tuple(min(max(int(float(v) * bins), 0), bins) for v in obs)


def train_q_learning(env, config: RlConfig, tick) -> Any:
    """Tabular Q-learning on observations in [0, 1] cut into ``state_bins`` bins; ε decays from 1 to 0.05."""
    import numpy as np

    rng = np.random.default_rng(config.seed)
    q = np.zeros((config.state_bins + 1,) * env.observation_space.shape[0] + (env.action_space.n,))
    steps, episode = 0, 0
    while steps < config.timesteps:
        obs, _ = env.reset(seed=config.seed + episode)
        episode += 1
        done = False
        while not done and steps < config.timesteps:
            s = _state(obs, config.state_bins)
            eps = max(0.05, 1.0 - steps / (0.7 * config.timesteps))
            a = int(rng.integers(env.action_space.n)) if rng.random() < eps else int(q[s].argmax())
            obs, reward, terminated, truncated, _ = env.step(a)
            done = terminated or truncated
            target = reward + (0.0 if terminated else config.gamma * q[_state(obs, config.state_bins)].max())
            q[s + (a,)] += config.learning_rate * (target - q[s + (a,)])
            steps += 1
            if steps % 500 == 0:
                tick(steps)
    return q


def train_sb3(env, config: RlConfig, tick) -> Any:
    import stable_baselines3 as sb3
    from stable_baselines3.common.callbacks import BaseCallback

    class Progress(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % 500 == 0:
                tick(self.num_timesteps)
            return True

    from gymnasium.wrappers import TransformReward

    env = TransformReward(env, lambda reward: reward * config.reward_scale)
    algo = {"dqn": sb3.DQN, "ppo": sb3.PPO}[config.method]
    kwargs = {"learning_starts": 500, "exploration_fraction": 0.5} if config.method == "dqn" else {}
    agent = algo("MlpPolicy", env, seed=config.seed, gamma=min(config.gamma, 0.999), device="cpu", verbose=0, **kwargs)
    agent.learn(total_timesteps=config.timesteps, callback=Progress())
    return agent


class RlPolicy:
    """A trained agent: observation by name in, action names with probabilities (and Q-values) out."""

    def __init__(self, method: str, observation: list[str], actions: list[str], agent: Any, state_bins: int) -> None:
        self.method, self.observation, self.actions = method, observation, actions
        self.agent, self.state_bins = agent, state_bins

    def _vector(self, context: dict[str, Any], i: int):
        missing = [n for n in self.observation if not isinstance(context.get(n), (int, float))]
        if missing:
            raise BadInput(f"item {i}: context needs numbers for {missing} (the observation: {self.observation})")
        return [float(context[n]) for n in self.observation]

    def full(self, obs) -> tuple[Any, Any]:
        """Probabilities ``(n, K)`` and Q-values ``(n, K)`` or None."""
        import numpy as np

        if self.method == "q-learning":
            q = np.stack([self.agent[_state(o, self.state_bins)] for o in obs])
        else:
            import torch

            with torch.no_grad():
                tensor = torch.as_tensor(obs, dtype=torch.float32)
                if self.method == "ppo":
                    return self.agent.policy.get_distribution(tensor).distribution.probs.numpy().astype(float), None
                q = self.agent.q_net(tensor).numpy().astype(float)
        best = np.isclose(q, q.max(axis=1, keepdims=True), rtol=0, atol=1e-9)
        return best / best.sum(axis=1, keepdims=True), q

    def decide(self, contexts: list[dict[str, Any]], candidates: list[list[str] | None]) -> list[Answer]:
        import numpy as np

        obs = np.array([self._vector(c, i) for i, c in enumerate(contexts)], dtype=np.float32)
        probs, q = self.full(obs)
        answers = []
        for i, acts in enumerate(candidates):
            if acts and set(acts) != set(self.actions):
                raise BadInput(f"item {i}: actions must be left out or be this agent's actions {self.actions}")
            answers.append((dict(zip(self.actions, map(float, probs[i]))),
                            dict(zip(self.actions, map(float, q[i]))) if q is not None else None))
        return answers


def write_rl_model(out_dir: Path, agent: Any, config: RlConfig, env_spec: dict[str, Any], observation: list[str],
                   actions: list[str], card: dict[str, Any]) -> None:
    import numpy as np

    from ...ml.model_dir import atomic_model_dir, write_card, write_json

    with atomic_model_dir(out_dir) as tmp:
        write_json(tmp, FILENAME, {"format": FORMAT, "kind": "rl", "method": config.method, "env": env_spec,
                                   "observation": observation, "actions": actions, "state_bins": config.state_bins})
        if config.method == "q-learning":
            np.savez_compressed(tmp / QTABLE, q=agent)
        else:
            agent.save(tmp / AGENT)
        write_card(tmp, card)


def load_rl_policy(path: Path, config: dict[str, Any]) -> RlPolicy:
    method = config.get("method")
    if method not in RL_METHODS:
        raise BadInput(f"{path}/{FILENAME}: unknown method {method!r}; known: {', '.join(RL_METHODS)}")
    if method == "q-learning":
        import numpy as np

        agent = np.load(path / QTABLE)["q"]
    else:
        import stable_baselines3 as sb3

        agent = {"dqn": sb3.DQN, "ppo": sb3.PPO}[method].load(path / AGENT, device="cpu")
    return RlPolicy(method, list(config["observation"]), list(config["actions"]), agent, int(config.get("state_bins", 10)))
