"""Summarization inputs and prompts, no model."""

import pytest

from modelbay.core.errors import BadInput
from modelbay.core.registry import get_task
from modelbay.tasks.summarization.prompts import clean_summary, length_phrase, summary_messages

Summarization = get_task("summarization")


def test_aliases_and_defaults():
    assert get_task("summarize") is Summarization
    item = Summarization.coerce("One. Two. Three. Four.")
    assert item.method is None and item.target_count(10) == 3 and item.max_new_tokens == 256


@pytest.mark.parametrize(("value", "message"), [
    ({"text": "a. b.", "sentences": 2, "ratio": 0.5}, "not both"),
    ({"text": "a. b.", "ratio": 0}, "ratio"),
    ({"text": "a. b.", "method": "magic"}, "method"),
    ({"text": "   "}, "blank"),
    ({"text": "a", "language": "fr"}, "language"),
    ({"text": "a", "words": 3}, "words"),
])
def test_bad_inputs_say_what_is_wrong(value, message):
    with pytest.raises(BadInput, match=message):
        Summarization.coerce(value)


def test_a_ratio_is_of_the_text_sentences_and_at_least_one():
    assert Summarization.coerce({"text": "x", "ratio": 0.25}).target_count(10) == 2
    assert Summarization.coerce({"text": "x", "ratio": 0.01}).target_count(10) == 1


def test_the_prompt_is_in_the_text_language():
    zh = summary_messages("猫坐在垫子上。", "zh", length_phrase("zh", 1, None))
    assert "概括" in zh[1]["content"] and "大约1句话" in zh[1]["content"] and "猫坐在垫子上。" in zh[1]["content"]
    en = summary_messages("The cat sat.", "en", length_phrase("en", None, 40))
    assert en[1]["content"].startswith("Summarize the following text in about 40 words.")


def test_a_summary_is_cleaned_of_its_label_only():
    assert clean_summary("Summary: The summary of results is good.") == "The summary of results is good."
    assert clean_summary("总结：销量上升。") == "销量上升。"
