"""Text classification, and the backends its models use.

Model kinds (``options.backend`` in the catalog spec):

* ``embedding-head`` — a small MLP over sentence embeddings from a catalog
  embeddings model; weights in ``head.npz``, config in ``head.json``. Runs in
  numpy: no torch at inference. Trained by ``modelbay.train.embedding_head``.
* ``vader`` — the VADER lexicon (English), a classical alternative.
* ``snownlp`` — snownlp's Naive Bayes (Chinese), a classical alternative.
"""

from __future__ import annotations

import json
from typing import ClassVar

from pydantic import Field

from ..core.registry import register
from ..core.task import Task, TaskInput, TaskOutput


class TextInput(TaskInput):
    text: str = Field(..., min_length=1, max_length=100_000, description="text to classify")


class ClassificationOutput(TaskOutput):
    label: str = Field(..., description="the most likely label")
    score: float = Field(..., description="probability of that label, 0..1")
    scores: dict[str, float] = Field(..., description="probability of every label")

    def summary(self) -> str:
        return f"{self.label} ({self.score:.3f})"


class EmbeddingHead:
    """An MLP (ReLU between layers, softmax at the end) over normalised sentence embeddings."""

    FORMAT = "modelbay.embedding-head/1"

    def __init__(self, path, device: str = "cpu") -> None:
        import numpy as np

        from ..core.loading import load_task

        config = json.loads((path / "head.json").read_text(encoding="utf-8"))
        if config.get("format") != self.FORMAT:
            raise ValueError(f"{path}/head.json: format {config.get('format')!r}, expected {self.FORMAT!r}")
        self.labels: list[str] = config["labels"]
        self.temperature = float(config.get("temperature", 1.0))
        self.embed_kind = config.get("embed_kind", "query")
        weights = np.load(path / "head.npz")
        self.layers = [(weights[f"W{i}"], weights[f"b{i}"]) for i in range(config["n_layers"])]
        self.embedder = load_task("embeddings", config["embedder"], device)

    def logits(self, features):
        import numpy as np

        h = features
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h

    def predict_proba(self, texts: list[str]):
        import numpy as np

        z = self.logits(self.embedder.encode(texts, [self.embed_kind] * len(texts))) / self.temperature
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)


class VaderBackend:
    labels = ["negative", "positive"]

    def __init__(self, path, device: str = "cpu") -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.analyzer = SentimentIntensityAnalyzer()

    def predict_proba(self, texts):
        import numpy as np

        # compound is in [-1, 1]; map it to P(positive) so both labels get a probability
        pos = np.array([(self.analyzer.polarity_scores(t)["compound"] + 1) / 2 for t in texts])
        return np.stack([1 - pos, pos], axis=1)


class SnowNLPBackend:
    labels = ["negative", "positive"]

    def __init__(self, path, device: str = "cpu") -> None:
        from snownlp import SnowNLP

        self.SnowNLP = SnowNLP

    def predict_proba(self, texts):
        import numpy as np

        pos = np.array([self.SnowNLP(t).sentiments for t in texts])
        return np.stack([1 - pos, pos], axis=1)


BACKENDS = {"embedding-head": EmbeddingHead, "vader": VaderBackend, "snownlp": SnowNLPBackend}


@register
class TextClassification(Task[TextInput, ClassificationOutput]):
    name = "text-classification"
    aliases = ("classify", "text-classifier")
    description = "Label texts with a trained classifier (any catalog or trained text-classification model)"
    Input = TextInput
    Output = ClassificationOutput
    default_model = "sentiment-e5-mlp"
    primary_field = "text"
    example_inputs = ("great service, thank you!", "太差了，再也不买了", "The delivery was late and the box was broken")
    capabilities: ClassVar[frozenset[str]] = frozenset({"run"})
    accepts_models_of: ClassVar[tuple[str, ...]] = ("sentiment", "text-classification")

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        kind = model.spec.options.get("backend", "embedding-head")
        if kind not in BACKENDS:
            raise ValueError(f"model {model.spec.name!r}: unknown backend {kind!r}; known: {', '.join(BACKENDS)}")
        self.backend = BACKENDS[kind](model.path, device)

    def _forward(self, batch: list[TextInput]):
        return self.backend.predict_proba([item.text for item in batch])

    def postprocess(self, raw, items):
        labels = self.backend.labels
        outputs = []
        for row in raw:
            best = int(row.argmax())
            outputs.append(ClassificationOutput(
                label=labels[best], score=round(float(row[best]), 6),
                scores={label: round(float(p), 6) for label, p in zip(labels, row)},
            ))
        return outputs
