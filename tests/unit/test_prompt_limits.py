"""A chat prompt is bounded in characters at validation, before any model or tokenizer is involved."""

from __future__ import annotations

import pytest

from modelbay.core.errors import BadInput
from modelbay.tasks.chat.task import Chat


def test_256_messages_of_100k_characters_are_refused_naming_the_size_and_the_limit():
    messages = [{"role": "user", "content": "x" * 100_000}] * 256  # each message alone is within its own limit
    with pytest.raises(BadInput) as info:
        Chat.coerce({"messages": messages})
    assert info.value.status_code == 422
    assert "25,600,000 characters" in str(info.value) and "100,000" in str(info.value)
    assert "MODELBAY_LIMIT_MAX_TEXT_CHARS" in str(info.value)


def test_system_prompt_and_messages_count_together(fresh_settings, monkeypatch):
    monkeypatch.setenv("MODELBAY_LIMIT_MAX_TEXT_CHARS", "10")
    fresh_settings.cache_clear()
    assert Chat.coerce({"prompt": "12345", "system": "67890"}).prompt_chars() == 10  # at the limit: fine
    with pytest.raises(BadInput, match="11 characters"):
        Chat.coerce({"prompt": "123456", "system": "67890"})
    turns = [{"role": "user", "content": "1234"}, {"role": "assistant", "content": "5678"},
             {"role": "user", "content": "9ab"}]
    with pytest.raises(BadInput, match="11 characters"):
        Chat.coerce({"messages": turns})


def test_the_openai_route_refuses_the_same_conversation():
    from modelbay.serve.openai.chat import ChatCompletionRequest, chat_items

    body = ChatCompletionRequest(messages=[{"role": "user", "content": "x" * 60_000}] * 2, n=8)
    with pytest.raises(BadInput, match="120,000 characters"):
        chat_items(body)
