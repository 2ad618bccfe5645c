"""Load a causal LM shipped as GGUF, keeping a converted safetensors copy so only the first load is slow.

transformers reads GGUF by dequantising every tensor (tens of seconds on a small
CPU, and the tokenizer alone takes seconds to rebuild). The first load saves the
result — weights, tokenizer, chat template, generation config — with
``save_pretrained`` under ``<cache_dir>/<model name>/<sha256 of the GGUF>[:16]``;
later loads read that directory in about a second. Keying on the file's hash
means an upgraded package (a different GGUF) converts again instead of loading
stale weights.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from ...core.catalog import ResolvedModel, sha256_file
from ...core.errors import ModelUnavailable
from ...core.settings import get_settings

log = logging.getLogger("modelbay.ml.llm.gguf")


def converted_dir(resolved: ResolvedModel, gguf_file: str) -> Path:
    """Where the converted copy of ``gguf_file`` lives (it may not exist yet)."""
    source = resolved.file(gguf_file)
    if not source.is_file():
        raise ModelUnavailable(
            f"model {resolved.spec.name!r}: {gguf_file!r} is not in {resolved.path}",
            hint=f"reinstall it: {resolved.spec.install or 'see docs/models.md'}",
        )
    return get_settings().cache_dir / resolved.spec.name / sha256_file(source)[:16]


def load_causal_lm(resolved: ResolvedModel, gguf_file: str, device: str = "cpu"):
    """Return ``(model, tokenizer)`` in float32 eval mode, converting the GGUF on first use.

    >>> model, tok = load_causal_lm(resolve("smollm2-135m-instruct"), "SmolLM2-135M-Instruct.Q4_1.gguf")  # doctest: +SKIP
    """
    target = converted_dir(resolved, gguf_file)
    if target.is_dir():
        try:
            return _load_dir(target, device)
        except Exception as exc:  # noqa: BLE001 - a damaged copy is rebuilt, not a dead end
            log.warning("converted copy %s does not load (%s); converting %s again", target, exc, gguf_file)
            shutil.rmtree(target, ignore_errors=True)
    model, tokenizer = _convert(resolved.path, gguf_file)
    _save_atomically(model, tokenizer, target)
    return model.to(device).eval(), tokenizer


def _load_dir(path: Path, device: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, local_files_only=True)
    return model.to(device).eval(), tokenizer


def _convert(directory: Path, gguf_file: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s/%s (first load only)", directory, gguf_file)
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=gguf_file, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(
        directory, gguf_file=gguf_file, dtype=torch.float32, local_files_only=True
    )
    # The weights are plain float32 tensors now, but the model still carries the GGUF
    # quantizer, which makes save_pretrained refuse; the saved copy is not quantized.
    model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    return model, tokenizer


def _save_atomically(model, tokenizer, target: Path) -> None:
    """Write into a temp sibling, fsync, then rename, so a crash never leaves a half copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # anything but "another process finished first" is real
                raise
    except OSError as exc:  # a read-only cache only costs speed
        log.warning("could not cache the converted model in %s: %s", target, exc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not target.is_dir():
        return
    # copies converted from older GGUF files, and temp dirs of crashed conversions, are dead
    # weight (hundreds of MB each); a recent temp dir may be another process converting now
    for old in target.parent.iterdir():
        recent_tmp = old.name.startswith(".tmp-") and time.time() - old.stat().st_mtime < 3600
        if old.is_dir() and old.name != target.name and not recent_tmp:
            shutil.rmtree(old, ignore_errors=True)
