"""Keyword tagging: a text's label is the one whose keywords it mentions most.

The template of a capability: a complete task in the smallest form. Copy the folder, rename the
classes, and replace ``setup``/``_forward`` with the real model. What every task has:

* typed ``Input``/``Output`` (pydantic; unknown fields are an error), a name, aliases, a default
  catalog model and ``example_inputs`` (the conformance tests, docs and benchmarks run them);
* ``setup`` loads the model once (weights from ``model.path``; heavy libraries imported there,
  never at the top, so ``import modelbay`` and ``modelbay --help`` stay fast);
* ``preprocess`` -> ``_forward`` -> ``postprocess``: a batch in, one output per item out;
* what it supports beyond ``run``, declared by its bases (``modelbay.core.protocols``): here
  ``Evaluable`` (``modelbay eval`` scores it) and ``Labelled`` (its model has a fixed label set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from ...core.errors import ModelUnavailable
from ...core.protocols import Evaluable, Labelled
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput


class KeywordInput(TaskInput):
    text: str = Field(..., min_length=1, max_length=100_000, description="text to tag")


class KeywordOutput(TaskOutput):
    label: str = Field(..., description="the label whose keywords the text mentions most (the model's default if none)")
    hits: dict[str, int] = Field(..., description="how many keywords of each label the text mentions")

    def summary(self) -> str:
        return f"{self.label} ({sum(self.hits.values())} keyword hits)"


@register
class KeywordTagging(Task[KeywordInput, KeywordOutput], Evaluable, Labelled):
    """Label texts by keyword lists.

    >>> from modelbay import pipeline                                   # doctest: +SKIP
    >>> pipeline("keyword-tagging")(["please refund the double charge"])[0].label   # doctest: +SKIP
    'billing'
    """

    name = "keyword-tagging"
    aliases = ("keywords",)
    description = "Label a text by the keyword lists of its model (a template capability)"
    Input = KeywordInput
    Output = KeywordOutput
    default_model = "keywords-support"
    primary_field = "text"
    example_inputs = ("I was charged twice, please refund me", {"text": "where is my parcel?"}, "hello there")
    metric_family = "classification"
    target_field = "label"

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        keywords = model.spec.options.get("keywords")
        if not isinstance(keywords, dict) or not keywords:
            raise ModelUnavailable(f"model {model.spec.name!r}: options.keywords must map each label to its keywords",
                                   hint="see src/modelbay/tasks/_template/catalog.yaml")
        self.keywords = {str(label): tuple(str(w).lower() for w in words) for label, words in keywords.items()}
        self.default_label = str(model.spec.options.get("default", "other"))

    @property
    def labels(self) -> list[str]:
        return [*self.keywords, self.default_label]

    def preprocess(self, items: list[KeywordInput]) -> list[str]:
        return [item.text.lower() for item in items]

    def _forward(self, texts: list[str]) -> list[dict[str, int]]:
        return [{label: sum(text.count(w) for w in words) for label, words in self.keywords.items()} for text in texts]

    def postprocess(self, raw: list[dict[str, int]], items: list[KeywordInput]) -> list[KeywordOutput]:
        return [KeywordOutput(label=max(hits, key=hits.get) if any(hits.values()) else self.default_label, hits=hits)
                for hits in raw]

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """A table (CSV, JSONL, Parquet…) whose ``text_col`` / ``label_col`` become ``text`` / ``label``."""
        from ...data.loaders import read_labelled_table

        return read_labelled_table(path, input_field=cls.primary_field, target_field=cls.target_field,
                                   input_col=options.get("text_col"), target_col=options.get("label_col"),
                                   fmt=options.get("format"))
