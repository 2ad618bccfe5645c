"""Summarization of English and Chinese text: extractive (TextRank over E5 sentence embeddings) or abstractive (LLM).

Extractive is the default: its summary is the document's own sentences, so it cannot state
what the text does not say, it gives the same answer every time, and it runs in milliseconds
with the 72 MB multilingual-e5-small in both languages. Abstractive (``method: "abstractive"``)
rewrites the text with the shared LLM, asked in the text's language: more fluent, slower, and
only as faithful as the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ...core.errors import ModelUnavailable
from ...core.protocols import Evaluable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput

#: summary length when neither ``sentences`` nor ``ratio`` is given
DEFAULT_SENTENCES = 3
DEFAULT_NEW_TOKENS = 256


class SummarizationInput(TaskInput):
    text: str = Field(..., min_length=1, max_length=100_000, description="the text to summarise (English or Chinese)")
    method: Literal["extractive", "abstractive"] | None = Field(
        None, description="extractive: pick the text's central sentences; abstractive: rewrite with the LLM "
                          "(default: the model's, extractive for the built-in one)")
    sentences: int | None = Field(None, ge=1, le=200, description="summary length in sentences (default 3)")
    ratio: float | None = Field(None, gt=0.0, le=1.0, description="summary length as a fraction of the text's sentences")
    language: Literal["en", "zh"] | None = Field(None, description="the text's language (detected when omitted)")
    ranking: Literal["textrank", "lexrank"] = Field("textrank", description="extractive: how sentences are ranked")
    max_new_tokens: int | None = Field(None, ge=16, le=4096, validate_default=True,
                                       description="abstractive: most tokens to generate (default 256)")

    @field_validator("max_new_tokens", mode="before")
    @classmethod
    def _within_server_limit(cls, value):
        from ...core.settings import new_tokens_within_limit

        return new_tokens_within_limit(value, DEFAULT_NEW_TOKENS)

    @model_validator(mode="after")
    def _one_length(self):
        if self.sentences is not None and self.ratio is not None:
            raise ValueError("give 'sentences' or 'ratio', not both")
        if not self.text.strip():
            raise ValueError("text is blank")
        return self

    def target_count(self, available: int) -> int:
        """Sentences wanted from a text of ``available`` sentences."""
        if self.ratio is not None:
            return max(1, round(self.ratio * available))
        return self.sentences if self.sentences is not None else DEFAULT_SENTENCES


class SummarizationOutput(TaskOutput):
    summary_text: str = Field(..., description="the summary (named as in transformers' pipelines)")
    sentences: list[str] = Field(..., description="the summary's sentences (extractive: the text's, in its order)")
    indices: list[int] = Field(..., description="extractive: positions of the chosen sentences in the text (0-based)")
    method: Literal["extractive", "abstractive"]
    language: Literal["en", "zh"]
    source_sentences: int = Field(..., description="sentences in the text")

    def summary(self) -> str:
        return self.summary_text


@register
class Summarization(Task[SummarizationInput, SummarizationOutput], Evaluable):
    """Summarise texts.

    >>> from modelbay import pipeline                                         # doctest: +SKIP
    >>> pipeline("summarization")({"text": long_text, "sentences": 2})[0].summary_text   # doctest: +SKIP
    """

    name = "summarization"
    aliases = ("summarize", "summarise", "summary")
    description = "Summarise English or Chinese text: key sentences (TextRank) or a rewrite by the LLM"
    Input = SummarizationInput
    Output = SummarizationOutput
    default_model = "summarization-e5-textrank"
    primary_field = "text"
    metric_family = "summarization"
    target_field = "summary"  # the reference column; compared with ``summary_text``
    example_inputs = (
        {"text": "The company opened a new warehouse in Ohio. The warehouse will employ 200 people. "
                 "Construction took two years. The weather was sunny on opening day. "
                 "The new site cuts delivery times in the Midwest by a day.", "sentences": 2},
        {"text": "公司在上海开设了新的仓库。新仓库将雇用两百名员工。建设用了两年时间。开业当天天气晴朗。"
                 "新仓库使华东地区的配送时间缩短了一天。", "ratio": 0.4},
        "Short texts come back whole. There is nothing to cut.",
    )

    def prediction(self, output: SummarizationOutput) -> str:
        return output.summary_text

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        options = model.spec.options
        self.default_method = options.get("method", "extractive")
        if self.default_method not in ("extractive", "abstractive"):
            raise ModelUnavailable(f"model {model.spec.name!r}: options.method must be 'extractive' or 'abstractive'")
        self.embedder_name = options.get("embedder", "multilingual-e5-small")
        self.llm_name = options.get("llm")  # None: the shared default LLM
        self._embedder = None

    def _encode(self, sentences: list[str]):
        if self._embedder is None:  # loaded on first use: an abstractive-only model never needs it
            from ...core.loading import load_task

            self._embedder = load_task("embeddings", self.embedder_name, self.device)
        return self._embedder.encode(sentences, ["query"] * len(sentences))

    def _llm(self):
        from ...ml.llm import language_model

        return language_model(self.llm_name, self.device)

    def preprocess(self, items: list[SummarizationInput]) -> list[dict[str, Any]]:
        from ...ml.language_id import supported_language
        from ...ml.sentences import split_sentences

        batch = []
        for item in items:
            language = item.language or supported_language(item.text)
            sentences = split_sentences(item.text, language)
            batch.append({"item": item, "language": language, "sentences": sentences,
                          "method": item.method or self.default_method, "count": item.target_count(len(sentences))})
        return batch

    def _forward(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from .textrank import pick_sentences

        ranked = [b for b in batch if b["method"] == "extractive" and b["count"] < len(b["sentences"])]
        if ranked:  # one embedding pass for every sentence of the batch
            vectors = self._encode([s for b in ranked for s in b["sentences"]])
            start = 0
            for b in ranked:
                n = len(b["sentences"])
                b["indices"] = pick_sentences(vectors[start:start + n], b["count"], b["item"].ranking)
                start += n
        for b in batch:
            if b["method"] == "extractive" and "indices" not in b:
                b["indices"] = list(range(len(b["sentences"])))
        abstractive = [b for b in batch if b["method"] == "abstractive"]
        if abstractive:
            self._rewrite(abstractive)
        return batch

    def _rewrite(self, batch: list[dict[str, Any]]) -> None:
        from ...ml.llm import GenerationSettings
        from .abstractive import fitted_messages
        from .prompts import clean_summary, length_phrase
        from .textrank import rank_order

        lm = self._llm()
        conversations, settings = [], []
        for b in batch:
            item, sentences = b["item"], b["sentences"]
            words = None
            if item.sentences is None and item.ratio is not None:  # a ratio of the text's length, in words/characters
                size = len(item.text) if b["language"] == "zh" else len(item.text.split())
                words = max(10, round(item.ratio * size))
            length = length_phrase(b["language"], None if words else item.target_count(len(sentences)), words)
            messages, _ = fitted_messages(lm, sentences, b["language"], length, item.max_new_tokens,
                                          lambda s=sentences, r=item.ranking: rank_order(self._encode(s), r))
            conversations.append(messages)
            settings.append(GenerationSettings(max_new_tokens=item.max_new_tokens, repetition_penalty=1.1))
        for b, reply in zip(batch, lm.complete_batch(conversations, settings)):
            b["summary"] = clean_summary(reply.text)

    def postprocess(self, raw: list[dict[str, Any]], items: list[SummarizationInput]) -> list[SummarizationOutput]:
        from ...ml.sentences import join_sentences, split_sentences

        outputs = []
        for b in raw:
            if b["method"] == "extractive":
                chosen = [b["sentences"][i] for i in b["indices"]]
                text, indices = join_sentences(chosen, b["language"]), b["indices"]
            else:
                text, indices = b["summary"], []
                chosen = split_sentences(text, b["language"]) if text else []
            outputs.append(SummarizationOutput(summary_text=text, sentences=chosen, indices=indices, method=b["method"],
                                               language=b["language"], source_sentences=len(b["sentences"])))
        return outputs

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """A table (CSV, JSONL, Parquet…) with the text (``text_col``, default ``text``) and its reference
        summary (``label_col``, default ``summary``)."""
        from ...data.loaders import read_labelled_table

        return read_labelled_table(path, input_field="text", target_field="summary", input_col=options.get("text_col"),
                                   target_col=options.get("label_col"), fmt=options.get("format"))


__all__ = ["Summarization", "SummarizationInput", "SummarizationOutput"]
