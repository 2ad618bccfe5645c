"""Translation, English <-> Chinese by the shared LLM by default; Marian, NLLB and M2M checkpoints by catalog.

A text is cut into lines, each line into sentences, and the sentences packed into pieces that
fit the model's context (``ml/sentences.py``); every piece of every item of a batch is
translated in one batch, and the pieces are joined back in order, line breaks kept. The source
language is detected from the script when ``source_lang`` is omitted (``ml/language_id.py``), and
the target defaults to the other of English and Chinese.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from ...core.errors import ModelUnavailable
from ...core.protocols import Evaluable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput

_LANG = r"^[a-z]{2,3}$"


class TranslationInput(TaskInput):
    text: str = Field(..., min_length=1, max_length=100_000, description="the text to translate")
    source_lang: str | None = Field(None, pattern=_LANG, description="its language, 'en' or 'zh' (detected when omitted)")
    target_lang: str | None = Field(None, pattern=_LANG,
                                    description="the language to translate into (default: zh for English, en for Chinese)")

    @model_validator(mode="after")
    def _not_blank(self):
        if not self.text.strip():
            raise ValueError("text is blank")
        if self.source_lang is not None and self.source_lang == self.target_lang:
            raise ValueError(f"source_lang and target_lang are both {self.source_lang!r}; nothing to translate")
        return self


class TranslationOutput(TaskOutput):
    translation_text: str = Field(..., description="the translation (named as in transformers' pipelines)")
    source_lang: str
    target_lang: str
    pieces: int = Field(..., description="pieces the text was translated in (long texts are split by sentences)")

    def summary(self) -> str:
        return self.translation_text


@register
class Translation(Task[TranslationInput, TranslationOutput], Evaluable):
    """Translate between English and Chinese.

    >>> from modelbay import pipeline                                                 # doctest: +SKIP
    >>> pipeline("translation")("退款需要三到五个工作日。")[0].translation_text       # doctest: +SKIP
    'Refunds take three to five working days.'
    """

    name = "translation"
    aliases = ("translate", "machine-translation", "mt")
    description = "Translate English <-> Chinese with the LLM (Marian/NLLB/M2M checkpoints by catalog)"
    Input = TranslationInput
    Output = TranslationOutput
    default_model = "translation-llm"
    primary_field = "text"
    batch_invariant = False  # LLM text (see Task.batch_invariant)
    metric_family = "translation"
    target_field = "translation"  # the reference column; compared with ``translation_text``
    example_inputs = (
        {"text": "Your refund was sent today.", "target_lang": "zh"},
        {"text": "退款已于今天发出。", "source_lang": "zh", "target_lang": "en"},
        "Thank you.",
    )

    def prediction(self, output: TranslationOutput) -> str:
        return output.translation_text

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        options = model.spec.options
        backend = options.get("backend", "llm")
        if backend == "llm":
            from .llm_translator import LLMTranslator

            self.translator: Any = LLMTranslator(options.get("llm"), device)
        else:
            from .seq2seq import FAMILIES, Seq2SeqTranslator

            if backend not in FAMILIES:
                raise ModelUnavailable(f"model {model.spec.name!r}: unknown translation backend {backend!r}",
                                       hint=f"set options.backend to llm or one of {', '.join(FAMILIES)}")
            self.translator = Seq2SeqTranslator(model.path, backend, options, device)

    def _languages(self, item: TranslationInput) -> tuple[str, str]:
        from ...ml.language_id import supported_language

        source = item.source_lang or supported_language(item.text, field="source_lang")
        target = item.target_lang or ("en" if source == "zh" else "zh")
        self.translator.check_pair(source, target)
        return source, target

    def preprocess(self, items: list[TranslationInput]) -> list[dict[str, Any]]:
        from ...ml.sentences import pack_sentences, split_sentences

        limit = self.translator.max_piece_tokens
        batch = []
        for item in items:
            source, target = self._languages(item)
            lines = []
            for line in item.text.split("\n"):
                sentences = split_sentences(line, source) if line.strip() else []
                lines.append(pack_sentences(sentences, self.translator.count_tokens, limit, source))
            batch.append({"source": source, "target": target, "lines": lines})
        return batch

    def _forward(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        jobs = [(piece, b["source"], b["target"]) for b in batch for line in b["lines"] for piece in line]
        position = iter(self.translator.translate_many(jobs))
        for b in batch:
            b["translated"] = [[next(position) for _ in line] for line in b["lines"]]
        return batch

    def postprocess(self, raw: list[dict[str, Any]], items: list[TranslationInput]) -> list[TranslationOutput]:
        from ...ml.sentences import join_sentences

        return [TranslationOutput(
            translation_text="\n".join(join_sentences(line, b["target"]) for line in b["translated"]).strip(),
            source_lang=b["source"], target_lang=b["target"], pieces=sum(len(line) for line in b["lines"]),
        ) for b in raw]

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """A table with the source text (``text_col``, default ``text``) and its reference translation
        (``label_col``, default ``translation``); ``source_lang``/``target_lang`` columns are read too."""
        from ...data.loaders import read_labelled_table

        return read_labelled_table(path, input_field="text", target_field="translation",
                                   input_col=options.get("text_col"), target_col=options.get("label_col"),
                                   fmt=options.get("format"))


__all__ = ["Translation", "TranslationInput", "TranslationOutput"]
