"""A GGUF model in llama.cpp through llama-cpp-python's low-level (ctypes) API: loading, tokens, one batch.

Only the calls the runtime needs, each checked: a null pointer or an error code
becomes a Python exception here instead of a crash further in. The chat template is
the GGUF's own (``tokenizer.chat_template``), rendered by llama-cpp-python's
``Jinja2ChatFormatter`` with the GGUF's BOS/EOS tokens, as transformers renders it.

What kills the process (llama-cpp-python 0.3.36, seen on this project's machines): two threads
using one context at once (``GGML_ASSERT(i1 >= 0 && i1 < ne1)`` or ``logits != nullptr`` in the
sampler: this is what crashed a chat completion called from several server threads), and a batch
of more tokens than ``n_batch`` (``GGML_ASSERT(n_tokens_all <= n_batch)``; llama.cpp silently
clamps ``n_batch`` to ``n_ctx``). Hence one lock per context, held by every call that touches it, and
:meth:`NativeModel.decode` checking each batch against the sizes the context really took.

And a build with Intel AMX kernels (``AMX_INT8 = 1`` in llama.cpp's system info: -march=native on a
Sapphire Rapids CPU) crashes at its first decode (SIGSEGV in ``ggml_backend_amx_mul_mat``; llama.cpp
issue 20824). ``make install`` builds without them; a build that has them loads its weights without
the extra (AMX/repacked) buffers, see :func:`extra_buffers_safe`.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...core.errors import ModelUnavailable

GGML_TYPE_F16, GGML_TYPE_Q8_0 = 1, 8
#: catalog ``options.kv_cache`` -> ggml type of the KV cache
KV_CACHE_TYPES = {"f16": GGML_TYPE_F16, "q8_0": GGML_TYPE_Q8_0}
log = logging.getLogger("modelbay.ml.llm.llamacpp")
_backend_ready = threading.Lock()
_backend_started = False


def extra_buffers_safe(system_info: str) -> bool:
    """Whether llama.cpp may put weights in its extra buffer types: not when its AMX kernels are built in.

    >>> extra_buffers_safe("CPU : AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | REPACK = 1 |")
    False
    >>> extra_buffers_safe("CPU : AVX512 = 1 | AVX512_VNNI = 1 | REPACK = 1 |")
    True
    """
    return "AMX_INT8 = 1" not in system_info


def _llama():
    """llama_cpp, its backend initialised once (importing it also routes llama.cpp's logs to ``logging``)."""
    global _backend_started
    from ...core.loading import load_system_openmp_spinning_briefly

    load_system_openmp_spinning_briefly()  # before llama.cpp links libgomp (a no-op once the server prepared it)
    import llama_cpp

    with _backend_ready:
        if not _backend_started:
            quiet = logging.getLogger("llama-cpp-python")  # its callback prints every load line unless told
            if quiet.level == logging.NOTSET:
                quiet.setLevel(logging.ERROR)
            llama_cpp.llama_backend_init()
            _backend_started = True
    return llama_cpp


class NativeModel:
    """One llama.cpp model and one context whose KV cache holds ``sequences`` sequences of ``context_tokens``."""

    def __init__(self, gguf: Path, *, context_tokens: int, sequences: int, batch_tokens: int, threads: int,
                 kv_type: int = GGML_TYPE_F16) -> None:
        lib = _llama()
        self.lib = lib
        model_params = lib.llama_model_default_params()
        if not extra_buffers_safe(lib.llama_print_system_info().decode(errors="replace")):
            log.warning("llama.cpp was built with AMX kernels, which crash (llama.cpp issue 20824): loading %s "
                        "without extra buffers; rebuild without AMX (make install) for repacked weights", gguf.name)
            model_params.use_extra_bufts = False
        self.model = lib.llama_model_load_from_file(str(gguf).encode(), model_params)
        if not self.model:
            raise ModelUnavailable(f"llama.cpp could not load {gguf}", hint="the file is damaged or not a GGUF model")
        params = lib.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = context_tokens * sequences, batch_tokens, batch_tokens
        params.n_seq_max, params.n_threads, params.n_threads_batch = sequences, threads, threads
        # one KV stream per sequence, not one pool: a sequence's cells then sit where they would if it ran alone,
        # and a one-token step gives the logits it gives alone (with a shared pool greedy replies changed under
        # batching); on Qwen under load some arithmetic still rounds differently (docs/models.md, "Chat")
        params.kv_unified = False
        # flash attention only where it is needed, for a quantised V cache: with f16 it made a 27-token next turn
        # at position 600 take 0.38 s instead of 0.18 s, and one token 45 ms instead of 36 ms (Qwen 0.5B)
        params.flash_attn_type = int(kv_type != GGML_TYPE_F16)
        params.type_k = params.type_v = kv_type  # q8_0: half the memory of f16, ~13% slower prompt reading
        params.no_perf = True
        self.ctx = lib.llama_init_from_model(self.model, params)
        if not self.ctx:
            lib.llama_model_free(self.model)
            raise ModelUnavailable(f"llama.cpp could not make a context of {sequences} x {context_tokens} tokens for {gguf}",
                                   hint="lower options.context_tokens or options.max_sequences in the catalog spec")
        self.memory = lib.llama_get_memory(self.ctx)
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.n_vocab = lib.llama_vocab_n_tokens(self.vocab)
        self.trained_context = lib.llama_model_n_ctx_train(self.model)
        # what the context really took: llama.cpp clamps n_batch to n_ctx, and a bigger batch aborts the process
        # (GGML_ASSERT n_tokens_all <= n_batch), so every batch is checked against this in decode()
        self.sequences = sequences
        self.context_tokens = lib.llama_n_ctx(self.ctx) // sequences  # cells of one sequence
        self.batch_tokens = min(lib.llama_n_batch(self.ctx), lib.llama_n_ubatch(self.ctx))
        self.batch = lib.llama_batch_init(self.batch_tokens, 0, 1)
        self.lock = threading.RLock()  # the context is not thread-safe: every call below holds it

    def close(self) -> None:
        if getattr(self, "ctx", None):
            self.lib.llama_batch_free(self.batch)
            self.lib.llama_free(self.ctx)
            self.lib.llama_model_free(self.model)
            self.ctx = self.model = None

    def __del__(self):
        self.close()

    # -- text <-> tokens -----------------------------------------------------
    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        """Tokens of ``text`` as it is (no BOS added: chat templates write their own); special tokens parsed."""
        data = text.encode("utf-8")
        room = len(data) + 8
        tokens = (self.lib.llama_token * room)()
        n = self.lib.llama_tokenize(self.vocab, data, len(data), tokens, room, False, special)
        if n < 0:  # cannot happen with one slot per byte; kept as a guard against a silent cut
            raise RuntimeError(f"llama.cpp tokenizer needs {-n} slots for {len(data)} bytes")
        return list(tokens[:n])

    def piece(self, token: int) -> bytes:
        """The bytes of one token (special tokens such as <|im_end|> give nothing)."""
        buf = ctypes.create_string_buffer(64)
        n = self.lib.llama_token_to_piece(self.vocab, token, buf, 64, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self.lib.llama_token_to_piece(self.vocab, token, buf, -n, 0, False)
        return buf.raw[:n]

    def is_end(self, token: int) -> bool:
        return bool(self.lib.llama_vocab_is_eog(self.vocab, token))

    def metadata(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(1 << 16)
        n = self.lib.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        if n < 0:
            return None
        if n >= len(buf):  # a long chat template: ask again with room for it
            buf = ctypes.create_string_buffer(n + 1)
            self.lib.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8")

    def token_text(self, token: int) -> str:
        buf = ctypes.create_string_buffer(256)
        n = self.lib.llama_token_to_piece(self.vocab, token, buf, 256, 0, True)
        return buf.raw[: max(n, 0)].decode("utf-8", "replace")

    # -- the KV cache and one model call --------------------------------------
    def forget(self, seq: int) -> None:
        """Drop a sequence's cells from the KV cache."""
        self.lib.llama_memory_seq_rm(self.memory, seq, -1, -1)

    def forget_from(self, seq: int, position: int) -> bool:
        """Drop a sequence's cells from ``position`` on, keeping the ones before; False if the model can't."""
        return bool(self.lib.llama_memory_seq_rm(self.memory, seq, position, -1))

    def copy_sequence(self, source: int, target: int) -> None:
        """Make ``target``'s KV stream a copy of ``source``'s, at the next decode (llama.cpp copies between
        streams only whole: a part aborts the process); ``source`` keeps its cells."""
        self.lib.llama_memory_seq_cp(self.memory, source, target, -1, -1)

    def decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> int:
        """Run one batch of ``(token, position, sequence, wants_logits)``; returns llama_decode's code (0: done)."""
        if not 0 < len(entries) <= self.batch_tokens:
            raise ValueError(f"a batch holds 1..{self.batch_tokens} tokens, got {len(entries)}")
        b = self.batch
        for i, (token, pos, seq, logits) in enumerate(entries):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
            b.seq_id[i][0] = seq
        b.n_tokens = len(entries)
        return self.lib.llama_decode(self.ctx, b)

    def logits(self, index: int) -> np.ndarray:
        """A copy of the logits of the ``index``-th token of the last batch (it must have asked for them)."""
        pointer = self.lib.llama_get_logits_ith(self.ctx, index)
        if not pointer:
            raise RuntimeError(f"llama.cpp has no logits for batch position {index}")
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,)).copy()


def chat_formatter(native: NativeModel, name: str):
    """The GGUF's chat template as a callable ``messages -> prompt text``."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = native.metadata("tokenizer.chat_template")
    if not template:
        raise ModelUnavailable(f"model {name!r}: its GGUF has no chat template; an instruction-tuned model is needed",
                               hint="pick a chat model: `modelbay models chat`")
    bos_id = native.lib.llama_vocab_bos(native.vocab)
    eos_id = native.lib.llama_vocab_eos(native.vocab)
    bos = native.token_text(bos_id) if bos_id >= 0 else ""
    eos = native.token_text(eos_id) if eos_id >= 0 else ""
    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
    return lambda messages: formatter(messages=list(messages)).prompt
