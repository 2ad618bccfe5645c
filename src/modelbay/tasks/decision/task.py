"""Decisions: which offer, content or price to show, from a contextual bandit or a reinforcement-learning agent.

An item is a context (``{"segment": "new", "basket_eur": 42}``) and the candidate actions; the
answer is the chosen action, the **propensity** it was chosen with (log it with the reward: it is
what off-policy evaluation needs later), every candidate's probability and, where the policy has
them, its reward estimates. The default model is the uniform policy (an A/B/n test); a trained
one (``modelbay train decision --data logged.csv``) is a linear Thompson sampling, LinUCB or
ε-greedy bandit, or an agent (``--param method=q-learning|dqn|ppo``) trained in a Gymnasium
environment. ``modelbay eval POLICY --data logged.csv`` estimates a policy's value from logs
(IPS, SNIPS, doubly robust) against the logging policy's.

The action is drawn from the probabilities with a generator seeded by ``event_id``, so a
decision can be replayed; without one, each request gets a fresh id and a fresh draw. An item with
``action`` and ``reward`` is feedback: a trained bandit stores it durably and learns it at once
(``online.py``), then answers as for any other item.

>>> from modelbay import pipeline                                                              # doctest: +SKIP
>>> out = pipeline("decision")([{"context": {"segment": "new"}, "actions": ["a", "b"], "event_id": "e1"}])[0]  # doctest: +SKIP
>>> out.propensity, sorted(out.probabilities)                                                  # doctest: +SKIP
(0.5, ['a', 'b'])
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from ...core.errors import BadInput
from ...core.protocols import Evaluable, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput

MAX_ACTIONS = 1000
MAX_CONTEXT_KEYS = 2000

Cell = float | int | str | bool | None
ITEM_KEYS = ("context", "actions", "event_id", "action", "reward")


class DecisionInput(TaskInput):
    context: dict[str, Cell] = Field(default_factory=dict, max_length=MAX_CONTEXT_KEYS,
                                     description="what is known when deciding: feature name → number or category")
    actions: list[str] | None = Field(None, min_length=1, max_length=MAX_ACTIONS,
                                      description="candidate actions (default: every action a trained policy knows)")
    event_id: str | None = Field(None, min_length=1, max_length=200,
                                 description="id of this decision; the same id replays the same draw (default: a new id)")
    action: str | None = Field(None, min_length=1, max_length=200,
                               description="feedback: the action that was taken in this context (give reward too)")
    reward: float | None = Field(None, allow_inf_nan=False,
                                 description="feedback: the reward that action got; a trained bandit learns it at once")

    @model_validator(mode="before")
    @classmethod
    def _json_item(cls, data: Any) -> Any:
        # the CLI passes a whole item as JSON text: modelbay run decision '{"context": {...}, "actions": [...]}'
        text = data.get("context") if isinstance(data, dict) else None
        if isinstance(text, str) and text.lstrip().startswith("{"):
            try:
                item = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"context: not a valid JSON object ({exc.msg})") from None
            if isinstance(item, dict):
                rest = {k: v for k, v in data.items() if k != "context"}
                return {**rest, **item} if set(ITEM_KEYS) & set(item) else {**rest, "context": item}
        return data

    @model_validator(mode="after")
    def _feedback(self) -> DecisionInput:
        if (self.action is None) != (self.reward is None):
            raise ValueError("feedback needs both action (the action taken) and reward; a decision needs neither")
        return self

    @field_validator("actions")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            seen: set[str] = set()
            repeated = sorted({a for a in value if a in seen or seen.add(a)})
            if repeated or any(not a.strip() for a in value):
                raise ValueError(f"actions must be distinct, non-empty names; repeated: {repeated[:5]}")
        return value


class DecisionOutput(TaskOutput):
    action: str = Field(..., description="the chosen action")
    propensity: float = Field(..., description="the probability the policy gave the chosen action (log it with the reward)")
    probabilities: dict[str, float] = Field(..., description="every candidate's probability under the policy")
    scores: dict[str, float] | None = Field(None, description="the policy's reward estimate (or Q-value) per candidate")
    method: str = Field(..., description="uniform, thompson, linucb, epsilon-greedy, q-learning, dqn or ppo")
    event_id: str = Field(..., description="the decision's id: log it with the action, propensity and reward")
    learned: bool = Field(False, description="this item's reward was stored and learnt (False: no reward, or a repeat)")

    def summary(self) -> str:
        return f"{self.action} (p={self.propensity:.3f}, {self.method}, event {self.event_id})"


def _draw(probabilities: dict[str, float], event_id: str, salt: str) -> str:
    """One action drawn from ``probabilities`` by a generator seeded from the event id."""
    import numpy as np

    seed = int.from_bytes(hashlib.sha256(f"{salt}\0{event_id}".encode()).digest()[:8], "little")
    names = list(probabilities)
    p = np.asarray([probabilities[a] for a in names], dtype=float)
    return names[int(np.random.default_rng(seed).choice(len(names), p=p / p.sum()))]


@register
class Decision(Task[DecisionInput, DecisionOutput], Trainable, Evaluable):
    """Choose an action per context with a bandit or an agent, with the propensity off-policy evaluation needs."""

    name = "decision"
    aliases = ("contextual-bandit", "bandit", "next-best-action")
    description = "Choose offers, content or prices per context (bandits, RL) with propensities for off-policy evaluation"
    Input = DecisionInput
    Output = DecisionOutput
    default_model = "decision-uniform"
    primary_field = "context"
    metric_family = "decision"
    target_field = "logged"
    example_inputs = (
        {"context": {"segment": "new", "basket_eur": 42.0}, "actions": ["free_shipping", "ten_percent_off", "none"],
         "event_id": "order-1001"},
        {"context": {"segment": "loyal", "basket_eur": 15.5}, "actions": ["free_shipping", "ten_percent_off"],
         "event_id": "order-1002"},
    )

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        from .model import load_policy

        self.policy = load_policy(model.path)
        self.salt = model.spec.name
        self.lock = threading.Lock()
        self.feedback, self.applied_id = None, 0
        if hasattr(self.policy, "learn"):  # trained bandits learn online; their rewards are durable
            from .online import FeedbackStore, default_store_path

            self.feedback = FeedbackStore(default_store_path())
            self._catch_up()

    def _catch_up(self) -> None:
        """Apply the rewards stored (by this or another process) since the last ones applied."""
        rows = self.feedback.since(self.salt, self.applied_id)
        if rows:
            self.policy.learn([r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])
            self.applied_id = rows[-1][0]

    def _learn(self, items: list[DecisionInput]) -> list[bool]:
        rewarded = [(i, item) for i, item in enumerate(items) if item.reward is not None]
        if rewarded and self.feedback is None:
            raise BadInput(f"item {rewarded[0][0]}: reward: the {self.policy.method} policy does not learn online",
                           hint="train a bandit (modelbay train decision --data logged.csv) and send rewards to it")
        for i, item in rewarded:
            self.policy.indices([item.action], f"item {i}")      # an unknown action fails before anything is stored
        added = self.feedback.add(self.salt, [(item.event_id, item.context, item.action, item.reward)
                                              for _, item in rewarded]) if rewarded else []
        if self.feedback is not None:
            self._catch_up()
        learned = [False] * len(items)
        for (i, _), was_added in zip(rewarded, added):
            learned[i] = was_added
        return learned

    def _forward(self, items: list[DecisionInput]):
        with self.lock:  # rewards are learnt in the order they were stored, before this batch's decisions
            learned = self._learn(items)
            answers = self.policy.decide([item.context for item in items], [item.actions for item in items])
        return list(zip(answers, learned))

    def postprocess(self, raw, items: list[DecisionInput]) -> list[DecisionOutput]:
        outputs = []
        for ((probs, scores), learned), item in zip(raw, items):
            event_id = item.event_id or uuid.uuid4().hex
            action = _draw(probs, event_id, self.salt)
            outputs.append(DecisionOutput(action=action, propensity=probs[action], probabilities=probs, scores=scores,
                                          method=self.policy.method, event_id=event_id, learned=learned))
        return outputs

    def prediction(self, output: DecisionOutput) -> dict[str, Any]:
        return {"probabilities": output.probabilities, "scores": output.scores}

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Logged decisions (context columns, action, reward, propensity); candidates: every action in the data."""
        from .train import evaluation_records

        return evaluation_records(path, options)

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """A bandit from logged decisions, or an agent from an environment file (``modelbay.tasks.decision.train``)."""
        from .train import train_decision

        return train_decision(data, Path(out_dir), options, progress=progress, name=name, task=cls.name)
