"""Content generation: product descriptions, marketing copy and customer-reply drafts from a template library.

Templates are data (``templates/*.yaml``: name, language, typed variables, the prompt), so a
team adds one without code. A request names a template and gives its variables; they are
checked when the request is read, so a missing, unknown or mistyped variable is a 422 naming it
before any model runs. The text is written by the shared LLM (``modelbay.ml.llm``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput

DEFAULT_NEW_TOKENS = 256


def _template_names(schema: dict[str, Any]) -> None:
    """The JSON schema of ``template`` lists the library's names (read when a schema is asked for, not at import)."""
    from .templates import template_library

    schema["enum"] = sorted(template_library())


class ContentInput(TaskInput):
    template: str = Field(..., min_length=1, max_length=64, json_schema_extra=_template_names,
                          description="a template name (`list_templates()`; GET /openapi.json lists them too)")
    variables: dict[str, Any] = Field(default_factory=dict, description="the template's variables by name")
    max_new_tokens: int | None = Field(None, ge=1, le=4096, validate_default=True,
                                       description="most tokens to generate (default 256)")
    temperature: float = Field(0.7, ge=0.0, le=2.0, description="0 is greedy (the same text every time)")
    top_p: float = Field(0.9, gt=0.0, le=1.0, description="nucleus sampling: keep the most likely tokens up to this mass")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="makes sampling reproducible")

    @field_validator("max_new_tokens", mode="before")
    @classmethod
    def _within_server_limit(cls, value):
        from ...core.settings import new_tokens_within_limit

        return new_tokens_within_limit(value, DEFAULT_NEW_TOKENS)

    @model_validator(mode="after")
    def _variables_fit_the_template(self):
        from .templates import get_template

        self.variables = get_template(self.template).check(self.variables)  # ValueError names the variable
        return self

    def messages(self) -> list[dict[str, str]]:
        from .templates import get_template

        return get_template(self.template).render(self.variables)


class ContentUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class ContentOutput(TaskOutput):
    text: str = Field(..., description="the generated content")
    template: str
    language: Literal["en", "zh"]
    finish_reason: Literal["stop", "length"] = Field(..., description="'length': max_new_tokens ran out")
    usage: ContentUsage

    def summary(self) -> str:
        return self.text


@register
class ContentGeneration(Task[ContentInput, ContentOutput]):
    """Write content from a template.

    >>> from modelbay import pipeline                                                     # doctest: +SKIP
    >>> pipeline("content-generation")({"template": "product-description-en",
    ...     "variables": {"product_name": "Trail mug", "features": ["steel", "350 ml"]}})[0].text  # doctest: +SKIP
    """

    name = "content-generation"
    aliases = ("copywriting", "content", "marketing-copy")
    description = "Product descriptions, marketing copy and customer-reply drafts (en, zh) from templates, by the LLM"
    Input = ContentInput
    Output = ContentOutput
    default_model = "content-llm"
    primary_field = "template"
    batch_invariant = False  # LLM text (see Task.batch_invariant)
    example_inputs = (
        {"template": "product-description-en", "temperature": 0, "max_new_tokens": 24,
         "variables": {"product_name": "Trail mug", "features": ["double-wall steel", "350 ml", "dishwasher safe"]}},
        {"template": "customer-reply-zh", "temperature": 0, "max_new_tokens": 24,
         "variables": {"customer_message": "我的包裹一周了还没到。", "resolution": "已为您补发，预计两天内送达",
                       "company_name": "小熊商店"}},
    )

    @staticmethod
    def templates(language: str | None = None) -> list[dict[str, Any]]:
        """The template library: name, language, kind, description and variables of each template."""
        from .templates import list_templates

        return list_templates(language)

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        from ...ml.llm import language_model

        self.lm = language_model(model.spec.options.get("llm"), device)

    def preprocess(self, items: list[ContentInput]) -> list[tuple[list[dict[str, str]], Any]]:
        from ...ml.llm import GenerationSettings

        return [(item.messages(), GenerationSettings(max_new_tokens=item.max_new_tokens, temperature=item.temperature,
                                                     top_p=item.top_p, seed=item.seed, repetition_penalty=1.1))
                for item in items]

    def _forward(self, batch: list[tuple[list[dict[str, str]], Any]]) -> list:
        return self.lm.complete_batch([messages for messages, _ in batch], [settings for _, settings in batch])

    def postprocess(self, raw: list, items: list[ContentInput]) -> list[ContentOutput]:
        from .templates import get_template

        return [ContentOutput(text=g.text.strip(), template=item.template, language=get_template(item.template).language,
                              finish_reason="length" if g.finish_reason == "length" else "stop",
                              usage=ContentUsage(prompt_tokens=g.prompt_tokens, completion_tokens=g.completion_tokens))
                for g, item in zip(raw, items)]


__all__ = ["ContentGeneration", "ContentInput", "ContentOutput"]
