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


def classification_outputs(labels: list[str], probabilities) -> list[ClassificationOutput]:
    """One output per row of ``probabilities`` (rows x labels): the best label, its score and every score.

    >>> classification_outputs(["no", "yes"], [[0.25, 0.75]])[0].label
    'yes'
    """
    outputs = []
    for row in probabilities:
        row = [float(p) for p in row]
        best = max(range(len(row)), key=row.__getitem__)
        outputs.append(ClassificationOutput(label=labels[best], score=round(row[best], 6),
                                            scores={label: round(p, 6) for label, p in zip(labels, row)}))
    return outputs


__all__ = ["ClassificationOutput", "classification_outputs"]
