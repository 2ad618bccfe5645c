"""Text classification, and the backends its models use.

Model kinds (``options.backend`` in the catalog spec):

* ``embedding-head`` — a small MLP over sentence embeddings from a catalog
  embeddings model; weights in ``head.npz``, config in ``head.json``. Runs in
  numpy: no torch at inference. Trained by ``modelbay.tasks.text_classification.head``.
* ``vader`` — the VADER lexicon (English), a classical alternative.
* ``snownlp`` — snownlp's Naive Bayes (Chinese), a classical alternative.
* ``transformer`` — a fine-tuned transformers checkpoint (``AutoModelForSequenceClassification``,
  labels in ``config.id2label``). Trained by ``modelbay.tasks.text_classification.finetune`` (``method=finetune``).
* ``setfit`` — a few-shot model: a contrastively fine-tuned sentence encoder with a logistic
  head (``setfit_model.py``). Trained by ``modelbay.tasks.text_classification.setfit`` (``method=setfit``).
* ``zero-shot`` — the shared chat LLM picks the label from an instruction and the label names
  (``zero_shot.py``); written by ``method=zero-shot``, no training. A good teacher for ``method=distill``
  (``distill.py``), which trains an ``embedding-head`` on a teacher's labels of unlabelled texts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from ...core.errors import BadInput
from ...core.protocols import Evaluable, Labelled, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput
from ...core.types import ClassificationOutput, classification_outputs
from .model import EmbeddingHead
from .setfit_model import SetFitClassifier
from .zero_shot import ZeroShotLLM


class TextInput(TaskInput):
    text: str = Field(..., min_length=1, max_length=100_000, description="text to classify")


class VaderBackend:
    labels = ("negative", "positive")

    def __init__(self, path, device: str = "cpu") -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.analyzer = SentimentIntensityAnalyzer()

    def predict_proba(self, texts):
        import numpy as np

        # compound is in [-1, 1]; map it to P(positive) so both labels get a probability
        pos = np.array([(self.analyzer.polarity_scores(t)["compound"] + 1) / 2 for t in texts])
        return np.stack([1 - pos, pos], axis=1)


class SnowNLPBackend:
    labels = ("negative", "positive")

    def __init__(self, path, device: str = "cpu") -> None:
        from snownlp import SnowNLP

        self.SnowNLP = SnowNLP

    def predict_proba(self, texts):
        import numpy as np

        pos = np.array([self.SnowNLP(t).sentiments for t in texts])
        return np.stack([1 - pos, pos], axis=1)


class TransformerClassifier:
    """A fine-tuned encoder with a classification head, run by torch; texts are cut to the tokenizer's max length."""

    def __init__(self, path, device: str = "cpu", batch_size: int = 32) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from ...core.errors import ModelUnavailable

        if not (Path(path) / "config.json").is_file():
            raise ModelUnavailable(f"{path}: config.json is missing", hint="retrain with `--param method=finetune`")
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True).to(device).eval()
        id2label = self.model.config.id2label
        self.labels = [str(id2label[i]) for i in range(len(id2label))]
        limit = getattr(self.model.config, "max_position_embeddings", 512)
        self.max_length = min(int(self.tokenizer.model_max_length), limit)
        self.device, self.batch_size = device, batch_size

    def predict_proba(self, texts: list[str]):
        import numpy as np
        import torch

        out = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt").to(self.device)
                out[idx] = torch.softmax(self.model(**batch).logits.float(), dim=-1).cpu().numpy()
        return out


BACKENDS = {"embedding-head": EmbeddingHead, "vader": VaderBackend, "snownlp": SnowNLPBackend,
            "transformer": TransformerClassifier, "setfit": SetFitClassifier, "zero-shot": ZeroShotLLM}
TRAINING_METHODS = ("head", "finetune", "setfit", "distill", "zero-shot")
#: options every method takes besides its config's fields
COMMON_OPTIONS = ("method", "text_col", "label_col", "format", "language")


@register
class TextClassification(Task[TextInput, ClassificationOutput], Trainable, Evaluable, Labelled):
    name = "text-classification"
    aliases = ("classify", "text-classifier")
    description = "Label texts with a trained classifier (any catalog or trained text-classification model)"
    Input = TextInput
    Output = ClassificationOutput
    default_model = "sentiment-e5-mlp"
    primary_field = "text"
    example_inputs = ("great service, thank you!", "太差了，再也不买了", "The delivery was late and the box was broken")
    accepts_models_of: ClassVar[tuple[str, ...]] = ("sentiment", "text-classification")
    metric_family = "classification"

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any], *, label_optional: bool = False) -> list[dict[str, Any]]:
        """A table (CSV, TSV, JSONL, JSON, Parquet) whose ``text_col`` / ``label_col`` become ``text`` / ``label``;
        with ``label_optional`` rows without a label are kept (a teacher or an LLM labels them)."""
        from ...data.loaders import read_labelled_table

        return read_labelled_table(path, input_field=cls.primary_field, target_field=cls.target_field,
                                   input_col=options.get("text_col"), target_col=options.get("label_col"),
                                   fmt=options.get("format"), target_optional=label_optional)

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """Train a classifier on a labelled table; ``options["method"]`` picks how.

        * ``head`` (default) — a fast head on frozen multilingual sentence embeddings
          (``modelbay.tasks.text_classification.head``): any ``HeadConfig`` field (``embedder``,
          ``hidden_sizes``, ``max_epochs``, ``seed``, …).
        * ``finetune`` — full fine-tuning of a transformer encoder with the Hugging Face Trainer
          (``modelbay.tasks.text_classification.finetune``): any ``FinetuneConfig`` field (``base``, ``epochs``,
          ``learning_rate``, ``augment``, ``class_weights``, ``resume``, …).
        * ``setfit`` — few-shot (8–64 examples per class): contrastive fine-tuning of a sentence
          encoder, then a logistic head (``modelbay.tasks.text_classification.setfit``): any
          ``SetFitConfig`` field (``base``, ``pairs_per_example``, ``epochs``, ``seed``, …).
        * ``distill`` — a ``teacher`` model labels the texts (a label column is optional and not trained
          on), then a head learns its labels (``distill.py``): ``teacher``, ``min_confidence``,
          ``labelled_data`` (a labelled file trained on beside them) and any ``HeadConfig`` field.
        * ``zero-shot`` — no training: the chat LLM will pick among ``labels`` (or the file's labels)
          following ``instruction``/``template`` (``zero_shot.py``).

        All take ``text_col``/``label_col`` (columns of the CSV/JSONL file) and ``language``.
        """

        options = dict(options)
        method = options.pop("method", "head")
        if method not in TRAINING_METHODS:
            raise BadInput(f"unknown training method {method!r}; known: {', '.join(TRAINING_METHODS)}")
        columns = {k: options.pop(k, None) for k in ("text_col", "label_col", "format")}
        language = options.pop("language", None)
        extra = {"languages": [language] if isinstance(language, str) else list(language)} if language else {}
        extra["data_file"] = str(data)
        label_free = method in ("distill", "zero-shot")  # a teacher or the LLM supplies the labels
        records = cls.load_data(data, columns, label_optional=label_free)
        if label_free:
            return _label_free_fit(method, records, out_dir, options, name=name, task=cls.name,
                                   progress=progress, card_extra=extra)
        if method == "finetune":
            from .finetune import config_from_options, finetune

            return finetune(records, out_dir, config_from_options(options), name=name, task=cls.name,
                            progress=progress, data_file=data, card_extra=extra)
        from ...ml.options import config_from_options

        if method == "setfit":
            from .setfit import SetFitConfig, train_setfit

            config = config_from_options(SetFitConfig, options, also_known=COMMON_OPTIONS)
            return train_setfit(records, out_dir, config, name=name, task=cls.name, progress=progress, card_extra=extra)
        from .head import HeadConfig, train_embedding_head

        config = config_from_options(HeadConfig, options, also_known=COMMON_OPTIONS)
        return train_embedding_head(records, out_dir, config, name=name, task=cls.name, progress=progress,
                                    card_extra={"options": {"backend": "embedding-head"}, **extra})

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        kind = model.spec.options.get("backend", "embedding-head")
        if kind not in BACKENDS:
            raise ValueError(f"model {model.spec.name!r}: unknown backend {kind!r}; known: {', '.join(BACKENDS)}")
        self.backend = BACKENDS[kind](model.path, device)

    @property
    def labels(self) -> list[str]:
        """The loaded model's labels, in the order of its probabilities."""
        return [str(label) for label in self.backend.labels]

    def _forward(self, batch: list[TextInput]):
        return self.backend.predict_proba([item.text for item in batch])

    def postprocess(self, raw, items):
        return classification_outputs(self.backend.labels, raw)


def _label_free_fit(method: str, records, out_dir, options, *, name: str, task: str, progress, card_extra):
    """``distill`` (a head on a teacher's labels) or ``zero-shot`` (an LLM classifier's config, nothing trained)."""
    from ...ml.options import config_from_options

    if method == "zero-shot":
        from .zero_shot import create_zero_shot

        return create_zero_shot(records, out_dir, options, name=name, task=task, card_extra=card_extra)
    from .distill import DistillConfig, distill
    from .head import HeadConfig

    own = {k: options.pop(k) for k in ("teacher", "min_confidence", "labelled_data") if k in options}
    head = config_from_options(HeadConfig, options, also_known=COMMON_OPTIONS)
    config = config_from_options(DistillConfig, own)
    config.head = head
    return distill(records, out_dir, config, name=name, task=task, progress=progress, card_extra=card_extra)
