"""Output types shared by several capabilities (so that no capability imports another for them)."""

from __future__ import annotations

from pydantic import Field

from .task import TaskOutput


class ClassificationOutput(TaskOutput):
    label: str = Field(..., description="the most likely label")
    score: float = Field(..., description="probability of that label, 0..1")
    scores: dict[str, float] = Field(..., description="probability of every label")

    def summary(self) -> str:
        return f"{self.label} ({self.score:.3f})"


__all__ = ["ClassificationOutput"]
