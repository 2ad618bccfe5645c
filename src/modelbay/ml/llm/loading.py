"""Load a catalog LLM once per process and pick its runtime from the spec.

``options.runtime`` in the catalog spec says which runtime runs the model:

* ``llama.cpp`` — a GGUF file (``options.gguf_file``) run by llama-cpp-python, with
  continuous batching of concurrent requests (``llamacpp_runtime``);
* ``transformers`` — a GGUF converted once to float32, or a Hugging Face checkpoint
  directory (hub snapshot, local directory), run by torch (``transformers_runtime``);
* ``auto`` (the default) — llama.cpp for a GGUF when llama-cpp-python is installed, else transformers.

``MODELBAY_LLM_RUNTIME`` overrides the spec for every model (e.g. ``transformers`` on a
machine without llama-cpp-python).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading

from ...core.catalog import ResolvedModel, resolve
from ...core.errors import BadInput, ModelUnavailable
from .contract import LanguageModel

log = logging.getLogger("modelbay.ml.llm")

#: the catalog LLM used when no name is given (also the chat task's default model)
DEFAULT_LANGUAGE_MODEL = "qwen2.5-coder-0.5b-instruct"
RUNTIMES = ("auto", "llama.cpp", "transformers")
LLAMA_CPP_INSTALL = "pip install llama-cpp-python==0.3.36 (a source build: see docs/models.md)"

_loaded: dict[tuple[str, str], LanguageModel] = {}
_locks: dict[tuple[str, str], threading.Lock] = {}
_guard = threading.Lock()


def shared_language_model(name: str | None = None, device: str = "cpu") -> LanguageModel:
    """The catalog LLM ``name`` on ``device``, loaded on first use; later calls (any thread) get the same object."""
    key = (name or DEFAULT_LANGUAGE_MODEL, device)
    with _guard:
        if key in _loaded:
            return _loaded[key]
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # one load per key; other keys load in parallel
        if key not in _loaded:
            _loaded[key] = load_language_model(resolve(key[0]), device)
        return _loaded[key]


def runtime_for(resolved: ResolvedModel) -> str:
    """The runtime that will run ``resolved``: ``llama.cpp`` or ``transformers``."""
    options = resolved.spec.options
    wanted = os.environ.get("MODELBAY_LLM_RUNTIME") or options.get("runtime", "auto")
    if wanted not in RUNTIMES:
        raise BadInput(f"model {resolved.spec.name!r}: runtime {wanted!r} is unknown; use one of {', '.join(RUNTIMES)}")
    has_llama_cpp = importlib.util.find_spec("llama_cpp") is not None
    if wanted == "auto":
        return "llama.cpp" if options.get("gguf_file") and has_llama_cpp else "transformers"
    if wanted == "llama.cpp":
        if not options.get("gguf_file"):
            raise BadInput(f"model {resolved.spec.name!r}: the llama.cpp runtime needs options.gguf_file in its spec")
        if not has_llama_cpp:
            raise ModelUnavailable(f"model {resolved.spec.name!r} asks for llama.cpp, which is not installed",
                                   hint=f"{LLAMA_CPP_INSTALL}, or set MODELBAY_LLM_RUNTIME=transformers")
    return wanted


def load_language_model(resolved: ResolvedModel, device: str = "cpu") -> LanguageModel:
    """A new (unshared) :class:`LanguageModel` for a resolved catalog model."""
    runtime = runtime_for(resolved)
    log.info("loading %s with %s", resolved.spec.name, runtime)
    if runtime == "llama.cpp":
        if device not in ("cpu", None):
            log.warning("%s: llama.cpp runs on the CPU here; device %r ignored", resolved.spec.name, device)
        from .llamacpp_runtime import load_llamacpp_lm

        return load_llamacpp_lm(resolved)
    from .transformers_runtime import load_transformers_lm

    return load_transformers_lm(resolved, device)
