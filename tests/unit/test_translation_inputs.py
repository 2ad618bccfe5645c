"""Translation inputs, prompts and reply cleaning, no model."""

import pytest

from modelbay.core.errors import BadInput
from modelbay.core.registry import get_task
from modelbay.tasks.translation.llm_prompts import clean_translation, translation_messages

Translation = get_task("translation")


def test_aliases_and_optional_languages():
    assert get_task("translate") is Translation
    item = Translation.coerce("退款已发出。")
    assert item.source_lang is None and item.target_lang is None


@pytest.mark.parametrize(("value", "message"), [
    ({"text": "hi", "source_lang": "en", "target_lang": "en"}, "nothing to translate"),
    ({"text": "hi", "target_lang": "English"}, "target_lang"),
    ({"text": " \n "}, "blank"),
    ({"text": "hi", "tone": "formal"}, "tone"),
])
def test_bad_inputs_say_what_is_wrong(value, message):
    with pytest.raises(BadInput, match=message):
        Translation.coerce(value)


def test_the_instruction_is_in_the_source_language_and_names_both():
    zh = translation_messages("退款已发出。", "zh", "en")
    assert zh[1]["content"] == "把下面的中文文本翻译成英文。只输出译文。\n\n退款已发出。"
    en = translation_messages("Refund sent.", "en", "zh")
    assert en[1]["content"].startswith("Translate the following English text into Simplified Chinese.")


@pytest.mark.parametrize(("reply", "source", "expected"), [
    ("Translation: Refund sent.", "退款已发出。", "Refund sent."),
    ("译文：退款已发出。", "Refund sent.", "退款已发出。"),
    ("“退款已发出。”", "Refund sent.", "退款已发出。"),
    ('"Hello," she said.', '"你好，"她说。', '"Hello," she said.'),
    ('"Quoted" source', '"引用"', '"Quoted" source'),
])
def test_labels_and_added_quotes_are_removed(reply, source, expected):
    assert clean_translation(reply, source) == expected
