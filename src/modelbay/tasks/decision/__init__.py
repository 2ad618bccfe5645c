"""Decisions: contextual bandits (Thompson sampling, LinUCB, ε-greedy) and RL agents, with off-policy evaluation."""

from . import task  # noqa: F401 - registers the task
