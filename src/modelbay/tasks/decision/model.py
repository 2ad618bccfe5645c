"""The decision model format, reader and writer together: ``decision.json`` plus the learnt state.

    {"format": "modelbay.decision/1", "kind": "bandit", "actions": ["offer_a", ...],
     "encoder": {"numeric": {...}, "categorical": {...}}, "config": {"method": "thompson", ...},
     "noise_sd": 0.31}                                   + bandit.npz (a_inv, b, counts)
    {"format": "modelbay.decision/1", "kind": "rl", "method": "ppo", "env": {...},
     "observation": [...], "actions": [...]}             + agent.zip (stable-baselines3) or qtable.npz

A policy answers, for each context and its candidate actions, the probability it gives each
action and (when it has them) its reward estimates: what the task serves and what off-policy
evaluation reads. ``UniformPolicy`` is the untrained default: every candidate equally likely.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...ml.model_dir import atomic_model_dir, write_card, write_json
from .features import ContextEncoder
from .formats import FILENAME, FORMAT, Answer
from .linear import BanditConfig, LinearBandit

BANDIT_STATE = "bandit.npz"
#: contexts scored at once
CHUNK_ROWS = 32



class UniformPolicy:
    """Every candidate action equally likely; no reward estimates (the logging policy of an A/B/n test)."""

    method = "uniform"

    def decide(self, contexts: list[dict[str, Any]], candidates: list[list[str] | None]) -> list[Answer]:
        answers = []
        for i, acts in enumerate(candidates):
            if not acts:
                raise BadInput(f"item {i}: actions: the untrained uniform policy needs the candidate actions",
                               hint='give "actions": ["offer_a", "offer_b"], or run a trained policy')
            answers.append(({a: 1.0 / len(acts) for a in acts}, None))
        return answers


class BanditPolicy:
    """A trained linear bandit (``linear.py``) with its context encoder."""

    def __init__(self, bandit: LinearBandit, encoder: ContextEncoder) -> None:
        self.bandit, self.encoder = bandit, encoder
        self.method = bandit.config.method
        self.actions = bandit.actions

    def indices(self, acts: list[str] | None, where: str) -> list[int]:
        if not acts:
            return list(range(len(self.actions)))
        unknown = [a for a in acts if a not in self.bandit.index]
        if unknown:
            shown = ", ".join(self.actions[:20]) + (" …" if len(self.actions) > 20 else "")
            raise BadInput(f"{where}: actions {unknown[:5]} are not actions of this policy; it knows {shown}",
                           hint="retrain with logged data that includes them, or leave them out")
        return [self.bandit.index[a] for a in acts]

    def learn(self, contexts: list[dict[str, Any]], actions: list[str], rewards: list[float]) -> None:
        """Update the posterior with observed rewards, in order (``online.py`` keeps them durable)."""
        x = self.encoder.transform(contexts)
        for row, action, reward in zip(x, actions, rewards):
            if action in self.bandit.index:  # checked when the reward came in; a retired action is skipped
                self.bandit.update(row, action, reward)

    def decide(self, contexts: list[dict[str, Any]], candidates: list[list[str] | None]) -> list[Answer]:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # small matrices: BLAS threads only contend
            return self._decide(contexts, candidates)

    def _decide(self, contexts: list[dict[str, Any]], candidates: list[list[str] | None]) -> list[Answer]:
        x = self.encoder.transform(contexts)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, acts in enumerate(candidates):  # items with the same candidates are scored together
            groups.setdefault(tuple(self.indices(acts, f"item {i}")), []).append(i)
        answers: list[Answer | None] = [None] * len(contexts)
        for idx, all_rows in groups.items():
            names = [self.actions[j] for j in idx]
            for lo in range(0, len(all_rows), CHUNK_ROWS):  # bounded memory: rows × actions × dim (× draws)
                rows = all_rows[lo:lo + CHUNK_ROWS]
                means, sds = self.bandit.means_and_sds(x[rows], list(idx))
                probs = self.bandit.probabilities_from(means, sds)
                for r, row in enumerate(rows):
                    answers[row] = (dict(zip(names, map(float, probs[r]))), dict(zip(names, map(float, means[r]))))
        return answers  # type: ignore[return-value]


def write_bandit_model(out_dir: Path, bandit: LinearBandit, encoder: ContextEncoder, card: dict[str, Any]) -> None:
    """``decision.json``, ``bandit.npz`` and ``model_card.json``, atomically."""
    import numpy as np

    with atomic_model_dir(out_dir) as tmp:
        write_json(tmp, FILENAME, {"format": FORMAT, "kind": "bandit", "actions": bandit.actions,
                                   "encoder": encoder.to_json(), "config": vars(bandit.config),
                                   "noise_sd": bandit.noise_sd, "offset": bandit.offset})
        np.savez_compressed(tmp / BANDIT_STATE, **bandit.state())
        write_card(tmp, card)


def read_config(path: Path) -> dict[str, Any]:
    from ...ml.model_files import ModelDir

    d = ModelDir(Path(path), hint="retrain it with `modelbay train decision --data logged.csv`")
    return d.config(FILENAME, (FORMAT,), required=("kind", "actions"))


def load_policy(path: str | Path | None, overrides: dict[str, Any] | None = None):
    """The policy stored in ``path`` (a trained model directory), or the uniform policy when there is none.

    ``overrides``: bandit options to change at run time (``method``, ``epsilon``, ``alpha``).
    """
    import numpy as np

    if path is None or not (Path(path) / FILENAME).is_file():
        return UniformPolicy()
    config = read_config(Path(path))
    if config["kind"] == "rl":
        from .rl import load_rl_policy

        return load_rl_policy(Path(path), config)
    state = np.load(Path(path) / BANDIT_STATE)
    bandit_config = BanditConfig(**{**config["config"], **(overrides or {})})
    bandit = LinearBandit(config["actions"], state["a_inv"], state["b"], state["counts"], config["noise_sd"], bandit_config,
                          float(config.get("offset", 0.0)))
    return BanditPolicy(bandit, ContextEncoder.from_json(config["encoder"]))
