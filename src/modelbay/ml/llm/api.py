"""The contract between the capabilities that generate text and the runtimes that run LLMs.

The types live in ``contract.py`` (so that runtimes can use them without importing the loader);
they are re-exported here, the one module capabilities import.
"""

from __future__ import annotations

from .contract import Generated, GenerationSettings, LanguageModel, Message, ScoresText

__all__ = ["Generated", "GenerationSettings", "LanguageModel", "Message", "ScoresText", "language_model"]


def language_model(name: str | None = None, device: str = "cpu") -> LanguageModel:
    """The catalog LLM ``name`` (default: the ``chat`` task's default model), loaded once per process.

    Every caller asking for the same name gets the same object, so the chat task and the
    assistant share one copy of the weights.
    """
    from .loading import shared_language_model

    return shared_language_model(name, device)
