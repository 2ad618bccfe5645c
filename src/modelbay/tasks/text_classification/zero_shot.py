"""The zero-shot model format, reader and writer together: the shared chat LLM labels texts it was
never trained for, from an instruction and the label names.

``zero_shot.json`` (format ``modelbay.zero-shot/1``) holds ``llm`` (a catalog chat model; ``null`` is
the chat default), ``labels``, ``label_words`` (the words that stand for each label, by default the
label itself with ``_``/``-`` read as spaces), ``instruction`` (the system message), ``template`` (the
user message, ``{text}`` in it) and ``max_chars`` (texts are cut to it).

How a text is labelled: the LLM reads the instruction and the text; each label's score is the
log-likelihood of the model replying with one of its words (as written, and capitalised), summed
over the words' variants; the probabilities are the softmax of the scores. One model call reads the
prompt; each candidate word costs its own tokens after the first. No generation, so no parsing, and
the answer is always one of the labels.

>>> cfg = ZeroShotConfig(labels=["refund", "delivery"], instruction="What does the customer want?")
>>> cfg.candidates("refund")
['refund', 'Refund']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...ml.model_dir import atomic_model_dir, write_card, write_json

FORMAT = "modelbay.zero-shot/1"
CONFIG_FILE = "zero_shot.json"
DEFAULT_TEMPLATE = "Text: {text}\nLabel:"


@dataclass
class ZeroShotConfig:
    """What the LLM is asked, and which reply words stand for which label."""

    labels: list[str]
    instruction: str = ""
    template: str = DEFAULT_TEMPLATE
    label_words: dict[str, list[str]] = field(default_factory=dict)
    llm: str | None = None
    max_chars: int = 2000

    def __post_init__(self) -> None:
        from ...core.errors import BadInput

        if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
            raise BadInput(f"a zero-shot classifier needs at least 2 distinct labels, got {self.labels}")
        if "{text}" not in self.template:
            raise BadInput(f"the template must contain {{text}}, got {self.template!r}")
        unknown = sorted(set(self.label_words) - set(self.labels))
        if unknown:
            raise BadInput(f"label_words names labels {unknown} that are not among {self.labels}")
        if not self.instruction:
            self.instruction = ("Classify the text. Answer with one word: "
                                + " or ".join(self.words(label)[0] for label in self.labels) + ".")
        if self.max_chars < 1:
            raise BadInput(f"max_chars must be >= 1, got {self.max_chars}")

    def words(self, label: str) -> list[str]:
        return list(self.label_words.get(label) or [label.replace("_", " ").replace("-", " ")])

    def candidates(self, label: str) -> list[str]:
        """The replies that count for ``label``: each word as written and capitalised."""
        found = []
        for word in self.words(label):
            for variant in (word, word[:1].upper() + word[1:]):
                if variant not in found:
                    found.append(variant)
        return found

    def messages(self, text: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.instruction},
                {"role": "user", "content": self.template.replace("{text}", text[: self.max_chars])}]


class ZeroShotLLM:
    """A text-classification backend: :class:`ZeroShotConfig` run by the shared LLM (``modelbay.ml.llm``)."""

    def __init__(self, path, device: str = "cpu") -> None:
        from ...ml.model_files import ModelDir

        d = ModelDir(path, hint="write it again with `modelbay train text-classification --param method=zero-shot`")
        raw = d.config(CONFIG_FILE, (FORMAT,), required=("labels",))
        known = {k: raw[k] for k in ("labels", "instruction", "template", "label_words", "llm", "max_chars") if k in raw}
        self.config = ZeroShotConfig(**known)
        self.labels = list(self.config.labels)
        from ...ml.llm.api import language_model

        self.llm = language_model(self.config.llm, device)  # shared with chat, the assistant, …: loaded once

    def predict_proba(self, texts: list[str]):
        import numpy as np

        rows = np.empty((len(texts), len(self.labels)), dtype=np.float64)
        groups = [self.config.candidates(label) for label in self.labels]
        flat = [word for group in groups for word in group]
        for i, text in enumerate(texts):
            scores = dict(zip(flat, self.llm.reply_logprobs(self.config.messages(text), flat)))
            rows[i] = [np.logaddexp.reduce([scores[w] for w in group]) for group in groups]
        rows -= rows.max(axis=1, keepdims=True)
        probabilities = np.exp(rows)
        return (probabilities / probabilities.sum(axis=1, keepdims=True)).astype(np.float32)


def write_zero_shot(out_dir: str | Path, config: ZeroShotConfig, card: dict[str, Any]) -> Path:
    """Write ``zero_shot.json`` and ``model_card.json`` atomically."""
    out_dir = Path(out_dir)
    with atomic_model_dir(out_dir) as tmp:
        write_json(tmp, CONFIG_FILE, {"format": FORMAT, **asdict(config)})
        write_card(tmp, card)
    return out_dir


def create_zero_shot(records: list[dict[str, Any]], out_dir: str | Path, options: dict[str, Any], *, name: str,
                     task: str, card_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``method=zero-shot``: write a classifier from ``options`` (``labels``, ``instruction``, ``template``,
    ``label_words``, ``llm``, ``max_chars``); without ``labels``, the labels of ``records`` in sorted order."""
    from ...core.errors import BadInput
    from ...ml.model_dir import utc_timestamp
    from ...ml.options import config_from_options

    options = dict(options)
    if not options.get("labels"):
        options["labels"] = sorted({str(rec["label"]) for rec in records if rec.get("label") not in (None, "")})
    elif isinstance(options["labels"], str):
        options["labels"] = [part.strip() for part in options["labels"].split(",") if part.strip()]
    if isinstance(options.get("label_words"), str):  # --param label_words='{"positive": ["good"]}'
        import json

        try:
            options["label_words"] = json.loads(options["label_words"])
        except ValueError as exc:
            raise BadInput(f"label_words must be a JSON object of label -> list of words ({exc})") from None
    config = config_from_options(ZeroShotConfig, options, what="method=zero-shot")
    card = {"name": name, "task": task, "created": utc_timestamp(), "method": "zero-shot",
            "options": {"backend": "zero-shot"}, "labels": list(config.labels),
            "llm": config.llm or "the chat task's default model", **(card_extra or {})}
    write_zero_shot(out_dir, config, card)
    return card
