"""The llama.cpp runtime: a GGUF model served with continuous batching (see ``llamacpp_engine``).

Catalog options (all optional but ``gguf_file``)::

    options: {runtime: llama.cpp, gguf_file: model.gguf,
              context_tokens: 4096,      # prompt + reply of one request, at most (and the model's own limit)
              max_sequences: 8,          # requests generated together; each has a KV cache of context_tokens
              repetition_penalty: 1.1,   # when a caller leaves GenerationSettings.repetition_penalty None
              kv_cache: f16}             # or q8_0: half the KV memory, prompts read ~13% slower (measured)

KV cache memory: (max_sequences + 1) x context_tokens x (bytes per token: layers x 2 x KV width x 2 for f16);
Qwen2.5 0.5B at the defaults: 9 x 4096 x 12 KiB = 432 MiB in f16.

Threads: ``MODELBAY_NUM_THREADS``, else every core.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from ...core.cancel import all_cancelled, current_scope
from ...core.errors import BadInput
from .contract import BatchCompletion, Generated, GenerationSettings, Message, check_replies

#: prompt tokens read per model call: a cancel, and other requests' next tokens, wait at most one such call
PREFILL_CHUNK_TOKENS = 512
DEFAULT_CONTEXT_TOKENS = 4096
DEFAULT_MAX_SEQUENCES = 8


def _prefill_chunk_tokens() -> int:
    return PREFILL_CHUNK_TOKENS  # read at every step, so tests can make it small


class LlamaCppLM(BatchCompletion):
    """A :class:`~modelbay.ml.llm.api.LanguageModel` on llama.cpp; safe to call from any number of threads."""

    runtime = "llama.cpp"

    def __init__(self, name: str, native, context_tokens: int, default_repetition_penalty: float = 1.0) -> None:
        from .llamacpp_engine import Engine
        from .llamacpp_native import chat_formatter

        self.name, self.native = name, native
        self.default_repetition_penalty = default_repetition_penalty
        self.context_tokens = min(context_tokens, native.trained_context, native.context_tokens)
        self._template = chat_formatter(native, name)
        self._engine = Engine(native, _prefill_chunk_tokens)
        #: called after every model call, from the worker thread (tests count steps with it)
        self.step_listeners: list[Callable[[], None]] = self._engine.step_listeners

    def close(self) -> None:
        """Stop the worker and free the model (the object is unusable afterwards)."""
        self._engine.stop()
        self.native.close()

    def drop_kept(self) -> None:
        """Forget the prompts kept in the KV cache: the next requests read their prompts whole (benchmarks, tests)."""
        self._engine.drop_kept()

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of ``messages`` with the GGUF's chat template and the generation prompt applied."""
        return self.native.tokenize(self._template(messages))

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return len(self.prompt_tokens(messages))

    def _sequence(self, messages: Sequence[Message], settings: GenerationSettings, cancelled=None):
        from .llamacpp_engine import Sequence as Running

        if settings.repetition_penalty is None:
            settings = replace(settings, repetition_penalty=self.default_repetition_penalty)
        ids = self.prompt_tokens(messages)
        room = self.context_tokens - len(ids)
        if room < 1:
            raise BadInput(f"the conversation is {len(ids)} tokens; the model reads at most {self.context_tokens}",
                           hint="drop or shorten earlier messages")
        return Running(ids, settings, min(settings.max_new_tokens, room), cancelled or (lambda: False))

    def stream(self, messages: Sequence[Message], settings: GenerationSettings) -> Iterator[tuple[str, Generated | None]]:
        from .stops import settled_text

        scope = current_scope()  # a server stream runs in a scope of one row: its client
        seq = self._sequence(messages, settings, (lambda: scope.row_cancelled(0)) if scope is not None else None)
        self._engine.submit([seq])
        emitted = 0
        try:
            while True:
                kind, value = seq.events.get()
                if kind == "done":
                    break
                text = settled_text(value, settings.stop)
                if len(text) > emitted:
                    yield text[emitted:], None
                    emitted = len(text)
        finally:
            seq.closed = True  # a consumer that stops reading stops the sequence at the next step
        if isinstance(value, Exception):
            raise value
        yield value.text[emitted:], value

    def complete_batch(self, conversations: Sequence[Sequence[Message]],
                       settings: Sequence[GenerationSettings]) -> list[Generated]:
        """Every conversation joins the running batch at once; row ``i`` stops when ``core.cancel`` says so."""
        self.check_batch(conversations, settings)
        scope = current_scope()
        sequences = []
        for i, (messages, one) in enumerate(zip(conversations, settings)):
            if all_cancelled():  # every request is gone (server): tokenise no more
                break
            wanted = (lambda row=i: scope.row_cancelled(row)) if scope is not None else None
            sequences.append(self._sequence(messages, one, wanted))  # one at a time: a too-long one fails first
        self._engine.submit(sequences)
        results = []
        try:
            for seq in sequences:
                kind, value = seq.events.get()
                while kind != "done":
                    kind, value = seq.events.get()
                if isinstance(value, Exception):
                    raise value
                results.append(value)
        finally:
            for seq in sequences:
                seq.closed = True  # an error or an interrupt here: nobody reads the others either
        cancelled = Generated(text="", finish_reason="cancelled", prompt_tokens=0, completion_tokens=0)
        return results + [cancelled] * (len(conversations) - len(results))

    def token_logprobs(self, text: str) -> list[float]:
        """Natural-log likelihood of each token of ``text`` given the ones before (the first is not scored)."""
        ids = self.native.tokenize(text, special=False)[: self.context_tokens]
        if len(ids) < 2:
            raise BadInput(f"text {text[:40]!r} is under 2 tokens; scoring needs at least 2")
        return self._engine.call(lambda: self._score(ids))

    def _score(self, ids: list[int]) -> list[float]:
        """:meth:`token_logprobs` on the worker thread, in the sequence slot kept for scoring."""
        seq = self.native.sequences - 1
        with self.native.lock:
            try:
                rows = self._log_softmax_rows(ids[:-1], 0, seq)
            finally:
                self.native.forget(seq)
        return [float(row[token]) for row, token in zip(rows, ids[1:])]

    def reply_logprobs(self, messages: Sequence[Message], replies: Sequence[str]) -> list[float]:
        """log P(reply | messages) for each candidate: the prompt is read once, each reply after it in turn."""
        prompt = self.prompt_tokens(messages)
        coded = [self.native.tokenize(reply, special=False) for reply in replies]
        check_replies(prompt, coded, self.context_tokens)
        return self._engine.call(lambda: self._score_replies(prompt, coded))

    def _score_replies(self, prompt: list[int], replies: list[list[int]]) -> list[float]:
        """:meth:`reply_logprobs` on the worker thread: the replies share the prompt's cells, each rolled back after."""
        seq, scores = self.native.sequences - 1, []
        with self.native.lock:
            try:
                first = self._log_softmax_rows(prompt, 0, seq, last_only=True)[-1]
                for reply in replies:
                    total = float(first[reply[0]])
                    if len(reply) > 1:
                        rows = self._log_softmax_rows(reply[:-1], len(prompt), seq)
                        total += sum(float(row[token]) for row, token in zip(rows, reply[1:]))
                        if not self.native.forget_from(seq, len(prompt)):  # a model that can't roll back: read again
                            self.native.forget(seq)
                            self._log_softmax_rows(prompt, 0, seq, last_only=True)
                    scores.append(total)
            finally:
                self.native.forget(seq)
        return scores

    def _log_softmax_rows(self, ids: list[int], position: int, seq: int, last_only: bool = False) -> list:
        """Decode ``ids`` into ``seq`` from ``position`` on (in chunks); the log-softmax of the logits after each
        token (after the last one only, with ``last_only``)."""
        import numpy as np

        rows, chunk = [], self.native.batch_tokens
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            wanted = [not last_only or start + k == len(ids) - 1 for k in range(len(part))]
            if self.native.decode([(t, position + start + k, seq, w) for k, (t, w) in enumerate(zip(part, wanted))]) != 0:
                raise BadInput("the model is too busy to score text now (its KV cache is full); retry")
            for k in (k for k, w in enumerate(wanted) if w):
                row = self.native.logits(k).astype(np.float64)
                top = row.max()
                rows.append(row - (top + np.log(np.exp(row - top).sum())))
        return rows


def load_llamacpp_lm(resolved) -> LlamaCppLM:
    from ...core.settings import get_settings
    from .llamacpp_native import KV_CACHE_TYPES, NativeModel

    options = resolved.spec.options
    gguf = resolved.file(options["gguf_file"])
    if not gguf.is_file():
        from ...core.errors import ModelUnavailable

        raise ModelUnavailable(f"model {resolved.spec.name!r}: {gguf.name} is not in {resolved.path}",
                               hint=f"reinstall it: {resolved.spec.install or 'see docs/models.md'}")
    context = int(options.get("context_tokens", DEFAULT_CONTEXT_TOKENS))
    sequences = int(options.get("max_sequences", DEFAULT_MAX_SEQUENCES))
    kv_cache = str(options.get("kv_cache", "f16"))
    if kv_cache not in KV_CACHE_TYPES:
        from ...core.errors import ModelUnavailable

        raise ModelUnavailable(f"model {resolved.spec.name!r}: options.kv_cache {kv_cache!r} is not one of "
                               f"{sorted(KV_CACHE_TYPES)}", hint="fix the model's catalog spec")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = get_settings().num_threads or cores
    # one more sequence than requests: the last one scores text (token_logprobs)
    native = NativeModel(gguf, context_tokens=context, sequences=sequences + 1,
                         batch_tokens=PREFILL_CHUNK_TOKENS + sequences, threads=threads,
                         kv_type=KV_CACHE_TYPES[kv_cache])
    return LlamaCppLM(resolved.spec.name, native, context, float(options.get("repetition_penalty", 1.0)))
