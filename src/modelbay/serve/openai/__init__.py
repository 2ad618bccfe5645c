"""OpenAI-compatible routes: /v1/embeddings, /v1/chat/completions, /v1/audio/transcriptions.

A protocol adapter: it translates OpenAI request bodies into task inputs and task
outputs into OpenAI response bodies, and runs models only through
:meth:`ServerContext.run` / :meth:`ServerContext.stream`, so batching, queue
limits, timeouts and model lifecycle apply as on ``/v1/tasks/*``.
``/v1/models`` lives in app.py (it lists every catalog model).

Model names: a catalog name of the route's task (``all-minilm-l6-v2``), ``"default"``
(the task's default model), or, for transcription only, ``"whisper-1"`` (the same
model family). Anything else is a 404 that lists the models the route takes: GPT or
text-embedding-3 names are refused rather than silently served by a different model.
"""

from __future__ import annotations

from fastapi import FastAPI

from ..context import ServerContext
from .common import OPENAI_ALIASES, OpenAIRequest, model_for, now_s


def install(app: FastAPI, ctx: ServerContext) -> None:
    """Add the OpenAI-compatible routes to ``app`` (called by ``create_app``)."""
    from .audio import install_audio
    from .chat import install_chat
    from .embeddings import install_embeddings

    install_embeddings(app, ctx)
    install_chat(app, ctx)
    install_audio(app, ctx)


__all__ = ["OPENAI_ALIASES", "OpenAIRequest", "install", "model_for", "now_s"]
