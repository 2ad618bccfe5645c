"""Entity extraction (NER) for English and Chinese: who, where and which organisation a text mentions.

Every model answers entities as character offsets into the input (``end`` exclusive) with
labels normalised across languages: ``PER``, ``LOC``, ``ORG`` (spaCy's PERSON→PER,
GPE/LOC→LOC; its other labels such as DATE or MONEY keep their names).

Model kinds (``options.backend`` in the catalog spec):

* ``spacy`` — a spaCy pipeline's ``ner`` component (``ner-en-spacy-sm``: en_core_web_sm 3.8);
  only ``ner`` is loaded. Fine-tuned by ``modelbay.tasks.ner.spacy_ner``.
* ``crf`` — a character-level CRF (``ner-zh-pd98``: People's Daily 1998-01); entities carry a
  score (mean marginal probability of their characters' tags). Trained by ``modelbay.tasks.ner.crf``.
* ``multi`` — routes each item to a model per language (``options.models``: ``{en: …, zh: …}``),
  by the item's ``language`` or, when absent, by its script: a text with at least one Han
  character for every four Latin letters is Chinese. Sub-models load on first use. The task's
  default ``ner-default`` is one, so ``modelbay run ner "Tim Cook visited Paris"`` and
  ``modelbay run ner "江泽民在北京会见了克林顿"`` both work with no ``--model``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ...core.errors import BadInput
from ...core.protocols import Evaluable, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput


class NerInput(TaskInput):
    text: str = Field(..., min_length=1, max_length=100_000, description="text to find entities in")
    language: Literal["en", "zh"] | None = Field(
        None, description="language of the text; absent: Chinese if it is mostly Han characters, else English")


class Entity(BaseModel):
    text: str = Field(..., description="the entity as it appears in the input")
    label: str = Field(..., description="PER, LOC, ORG, or another model label such as DATE")
    start: int = Field(..., description="character offset of the first character in the input")
    end: int = Field(..., description="character offset after the last character (exclusive)")
    score: float | None = Field(None, description="model confidence 0..1, where the model gives one")


class NerOutput(TaskOutput):
    entities: list[Entity] = Field(..., description="entities in order of position")

    def summary(self) -> str:
        return ", ".join(f"{e.label} {e.text}" for e in self.entities) or "(no entities)"


def detect_language(text: str) -> str:
    """``"zh"`` when the text has at least one Han character per four Latin letters, else ``"en"``.

    >>> detect_language("国务院总理李鹏在北京会见了美国客人"), detect_language("Tim Cook visited Paris")
    ('zh', 'en')
    """
    from .conll import is_cjk

    han = sum(1 for c in text if is_cjk(c))
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    return "zh" if han and han * 4 >= latin else "en"


class SpacyBackend:
    def __init__(self, path: Path, options: dict[str, Any], device: str = "cpu") -> None:
        from .spacy_ner import load_spacy_ner

        self.nlp = load_spacy_ner(path / options.get("pipeline_dir", ""))

    def __call__(self, texts: list[str], languages: list[str | None]) -> list[list[dict[str, Any]]]:
        from .spacy_ner import spacy_entities

        return spacy_entities(self.nlp, texts)


class CrfBackend:
    def __init__(self, path: Path, options: dict[str, Any], device: str = "cpu") -> None:
        from .model import CrfTagger

        self.tagger = CrfTagger(path)

    def __call__(self, texts: list[str], languages: list[str | None]) -> list[list[dict[str, Any]]]:
        return [self.tagger.entities(text) for text in texts]


class MultiBackend:
    """One model per language; each item goes to the model of its language (see the module docstring)."""

    def __init__(self, path: Path, options: dict[str, Any], device: str = "cpu") -> None:
        models = options.get("models")
        if not isinstance(models, dict) or not models:
            raise ValueError("a multi NER model needs options.models, e.g. {en: ner-en-spacy-sm, zh: ner-zh-pd98}")
        self.models: dict[str, str] = dict(models)
        self.device = device
        self.loaded: dict[str, Ner] = {}

    def _model(self, language: str):
        if language not in self.loaded:
            from ...core.loading import load_task

            self.loaded[language] = load_task("ner", self.models[language], self.device)
        return self.loaded[language].backend

    def __call__(self, texts: list[str], languages: list[str | None]) -> list[list[dict[str, Any]]]:
        routed = [lang or detect_language(text) for text, lang in zip(texts, languages)]
        fallback = "en" if "en" in self.models else next(iter(self.models))
        routed = [lang if lang in self.models else fallback for lang in routed]
        out: list[list[dict[str, Any]]] = [[] for _ in texts]
        for language in sorted(set(routed)):
            idx = [i for i, lang in enumerate(routed) if lang == language]
            for i, ents in zip(idx, self._model(language)([texts[i] for i in idx], [language] * len(idx))):
                out[i] = ents
        return out


BACKENDS = {"spacy": SpacyBackend, "crf": CrfBackend, "multi": MultiBackend}


@register
class Ner(Task[NerInput, NerOutput], Trainable, Evaluable):
    name = "ner"
    aliases = ("entity-extraction", "named-entity-recognition", "token-classification")
    description = "Find people, places and organisations (PER/LOC/ORG) in English and Chinese text"
    Input = NerInput
    Output = NerOutput
    default_model = "ner-default"
    primary_field = "text"
    example_inputs = ("Tim Cook visited Paris with engineers from Apple.", "国务院总理李鹏在北京会见了美国客人。",
                      {"text": "Angela Merkel met Emmanuel Macron in Berlin.", "language": "en"})
    metric_family = "ner"
    target_field = "entities"

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Records ``{"text", "entities": [{"start", "end", "label"}]}`` from CoNLL, word/tag, JSONL or .spacy.

        ``options``: ``format`` ("conll", "word/tag", "jsonl", "spacy"; inferred from the file
        name when absent) and ``language`` ("en"/"zh": how tokens are joined, and added to each record).
        """
        from .conll import load_ner_records

        return load_ner_records(path, options.get("format"), options.get("language"))

    def prediction(self, output: NerOutput) -> list[dict[str, Any]]:
        """Entities shaped like a record's: ``[{"start", "end", "label"}]``."""
        return [{"start": e.start, "end": e.end, "label": e.label} for e in output.entities]

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """Chinese (``language=zh``): a character CRF (``modelbay.tasks.ner.crf``); English: fine-tune spaCy.

        ``options``: ``format``, ``language`` (absent: guessed from the data's script) and
        ``backend`` ("crf"/"spacy", to override the language's choice), plus any field of
        ``CrfConfig`` (``c1``, ``c2``, ``max_iterations``, ``window``…) or ``SpacyConfig``
        (``epochs``, ``dropout``, ``base_model``, ``rehearse``…).
        """
        options = dict(options)
        for unused in ("text_col", "label_col"):
            if unused in options:
                raise BadInput(f"--{unused.replace('_', '-')} does not apply to ner: its data has tokens and tags, not columns",
                               hint="pass --format conll|word/tag|jsonl instead")
        fmt, language = options.pop("format", None), options.pop("language", None)
        records = load_data_for_fit(cls, data, fmt, language)
        if language is None:
            sample = "".join(r["text"] for r in records[:200])
            language = detect_language(sample)
        backend = options.pop("backend", "crf" if language == "zh" else "spacy")
        if backend == "crf":
            from .crf import train_crf
            from .model import CrfConfig

            for record in records:
                record.setdefault("language", language)
            return train_crf(records, out_dir, CrfConfig.from_options(options), name=name, task=cls.name,
                             progress=progress, data_file=data)
        if backend == "spacy":
            from .spacy_ner import SpacyConfig, train_spacy

            return train_spacy(records, out_dir, SpacyConfig.from_options(options), name=name, task=cls.name,
                               progress=progress, data_file=data)
        raise BadInput(f"backend {backend!r}: expected crf or spacy")

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        kind = model.spec.options.get("backend")
        if kind not in BACKENDS:
            raise ValueError(f"model {model.spec.name!r}: unknown NER backend {kind!r}; known: {', '.join(BACKENDS)}")
        self.backend = BACKENDS[kind](Path(model.path), model.spec.options, device)

    def _forward(self, batch: list[NerInput]):
        return self.backend([item.text for item in batch], [item.language for item in batch])

    def postprocess(self, raw, items):
        return [NerOutput(entities=[Entity(text=item.text[e["start"]:e["end"]], label=e["label"], start=e["start"],
                                           end=e["end"], score=e.get("score")) for e in ents])
                for ents, item in zip(raw, items)]


def load_data_for_fit(cls, data, fmt: str | None, language: str | None) -> list[dict[str, Any]]:
    """Records for training; a folder is read file by file (every file in the same format)."""
    path = Path(data)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise BadInput(f"{path}: the folder holds no data files")
        return [r for f in files for r in cls.load_data(f, {"format": fmt, "language": language})]
    return cls.load_data(path, {"format": fmt, "language": language})
