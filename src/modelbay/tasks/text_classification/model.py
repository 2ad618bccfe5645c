"""The embedding-head model format, reader and writer together: an MLP over sentence embeddings
(``head.json``, ``head.npz``), read by ``EmbeddingHead`` and written by ``write_head``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ...ml.model_dir import atomic_model_dir, save_head_layers, write_card, write_json


class EmbeddingHead:
    """An MLP (ReLU between layers, softmax at the end) over normalised sentence embeddings.

    ``head.json`` formats:

    * ``modelbay.embedding-head/1`` — embedder, embed_kind, labels, n_layers, temperature
    * ``modelbay.embedding-head/2`` — adds ``max_chars`` (texts are cut to it, as in
      training) and ``extra_features`` (cheap features appended to the embedding,
      see :meth:`extra_features`)
    """

    FORMAT = "modelbay.embedding-head/2"
    FORMATS = ("modelbay.embedding-head/1", "modelbay.embedding-head/2")
    EXTRA_FEATURES: ClassVar[dict[str, int]] = {"vader": 4}

    def __init__(self, path, device: str = "cpu") -> None:
        from ...core.loading import load_task
        from ...ml.model_files import ModelDir

        d = ModelDir(path, hint="retrain the head with modelbay.tasks.text_classification.head or reinstall the model")
        config = d.config("head.json", self.FORMATS, required=("embedder", "labels", "n_layers"))
        self.labels: list[str] = d.labels(config, "head.json")
        self.temperature = float(config.get("temperature", 1.0))
        if not self.temperature > 0:
            raise d.error(f"head.json temperature must be > 0, got {self.temperature}")
        self.embed_kind = config.get("embed_kind", "query")
        self.max_chars = int(config.get("max_chars", 100_000))
        self.extra = list(config.get("extra_features", []))
        unknown = [f for f in self.extra if f not in self.EXTRA_FEATURES]
        if unknown:
            raise d.error(f"head.json names unknown extra features {unknown}; known: {sorted(self.EXTRA_FEATURES)}")
        self.layers = d.mlp_layers(config["n_layers"], len(self.labels))
        self.embedder = load_task("embeddings", config["embedder"], device)
        self._vader = None

    @classmethod
    def extra_features(cls, names: list[str], texts: list[str]):
        """Cheap features appended to the embedding; the trainer calls this too, so both agree.

        ``vader``: VADER's (neg, neu, pos, compound) — English lexicon cues such as
        negation and intensifiers; all-neutral for text VADER has no words for.
        """
        import numpy as np

        columns = []
        for name in names:
            if name == "vader":
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                analyzer = vader_analyzer(SentimentIntensityAnalyzer)
                scores = [analyzer.polarity_scores(t) for t in texts]
                columns.append(np.array([[s["neg"], s["neu"], s["pos"], s["compound"]] for s in scores], dtype=np.float32))
            else:
                raise ValueError(f"unknown extra feature {name!r}; known: {sorted(cls.EXTRA_FEATURES)}")
        return np.hstack(columns) if columns else np.zeros((len(texts), 0), dtype=np.float32)

    def features(self, texts: list[str]):
        import numpy as np

        texts = [t[: self.max_chars] for t in texts]
        x = self.embedder.encode(texts, [self.embed_kind] * len(texts))
        if self.extra:
            x = np.hstack([x, self.extra_features(self.extra, texts)])
        return x

    def logits(self, features):
        from ...ml.model_files import mlp_logits

        return mlp_logits(self.layers, features)

    def predict_proba_features(self, features):
        """Calibrated probabilities from features already computed (e.g. cached embeddings)."""
        from ...ml.model_files import softmax

        return softmax(self.logits(features) / self.temperature)

    def predict_proba(self, texts: list[str]):
        return self.predict_proba_features(self.features(texts))


_VADER_ANALYZERS: dict = {}


def vader_analyzer(factory):
    """One analyzer per process: building it parses the lexicon (~0.1 s)."""
    if "default" not in _VADER_ANALYZERS:
        _VADER_ANALYZERS["default"] = factory()
    return _VADER_ANALYZERS["default"]


def write_head(out_dir: str | Path, config: Any, labels: list[str], layers, temperature: float, card: dict[str, Any]) -> Path:
    """Write head.json, head.npz and model_card.json atomically; ``config`` is the trainer's ``HeadConfig``."""
    out_dir = Path(out_dir)
    with atomic_model_dir(out_dir) as tmp:
        head = {
            "format": EmbeddingHead.FORMAT, "embedder": config.embedder, "embed_kind": config.embed_kind,
            "labels": labels, "n_layers": len(layers), "temperature": round(temperature, 6),
            "max_chars": config.max_chars, "extra_features": list(config.extra_features),
        }
        write_json(tmp, "head.json", head)
        save_head_layers(tmp, layers)
        write_card(tmp, card)
    return out_dir
