"""MODELBAY_PRECISION: float32 by default; bfloat16 (or auto, where the CPU has it natively) for the torch text models."""

import numpy as np
import pytest


def test_precision_setting(monkeypatch, fresh_settings):
    from modelbay.core.loading import cpu_has_native_bf16, torch_dtype_name

    assert cpu_has_native_bf16("processor : 0\nflags : fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_has_native_bf16("flags\t\t: fpu amx_bf16 amx_tile\n")
    assert not cpu_has_native_bf16("flags : fpu sse2 avx2 avx512f avx512_vnni\n")
    assert not cpu_has_native_bf16("Features : fp asimd\n")  # no x86 flags line at all
    monkeypatch.delenv("MODELBAY_PRECISION", raising=False)
    assert fresh_settings().precision == "float32" and torch_dtype_name() == "float32"  # the documented default
    assert torch_dtype_name("float32") == "float32" and torch_dtype_name("bfloat16") == "bfloat16"
    assert torch_dtype_name("auto") == ("bfloat16" if cpu_has_native_bf16() else "float32")
    for value in ("float32", "bfloat16"):
        monkeypatch.setenv("MODELBAY_PRECISION", value)
        fresh_settings.cache_clear()
        assert torch_dtype_name() == value
    monkeypatch.setenv("MODELBAY_PRECISION", "fp8")
    fresh_settings.cache_clear()
    with pytest.raises(ValueError, match="precision"):
        fresh_settings()


@pytest.mark.parametrize("model", ["all-minilm-l6-v2", "multilingual-e5-small"])
def test_the_embeddings_task_follows_the_precision_setting(monkeypatch, fresh_settings, model):
    from modelbay.core.loading import load_task

    texts = ["refund policy", "how do I get my money back", "退款政策是什么？", "great service, I will order again"]
    vectors = {}
    for value in ("float32", "bfloat16"):
        monkeypatch.setenv("MODELBAY_PRECISION", value)
        fresh_settings.cache_clear()
        task = load_task("embeddings", model)
        assert task.backend.precision == value
        if model == "all-minilm-l6-v2":  # the linear layers are stored in the chosen precision, the rest stays float32
            import torch

            modules = list(task.backend.model.modules())
            assert {m.weight.dtype for m in modules if isinstance(m, torch.nn.Linear)} == {getattr(torch, value)}
            assert {m.weight.dtype for m in modules if isinstance(m, torch.nn.LayerNorm)} == {torch.float32}
        vectors[value] = task.encode(texts)
        assert vectors[value].dtype == np.float32 and np.allclose(np.linalg.norm(vectors[value], axis=1), 1, atol=1e-3)
    assert (vectors["float32"] * vectors["bfloat16"]).sum(1).min() > 0.999
