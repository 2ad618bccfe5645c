"""Causal language models, shared by every capability that generates text.

chat, assistant, summarization, translation, content generation and relation
extraction all talk to an LLM through :class:`LanguageModel`; none of them knows
which runtime (llama.cpp, transformers) runs it. :func:`language_model` loads a
catalog model once per process and hands the same object to every caller.
"""

from .api import Generated, GenerationSettings, LanguageModel, Message, language_model

__all__ = ["Generated", "GenerationSettings", "LanguageModel", "Message", "language_model"]
