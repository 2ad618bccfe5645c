"""Continuous batching on one llama.cpp context: every running sequence advances in the same model call.

One worker thread owns the context. Each step it builds one ``llama_batch``: the
last sampled token of every sequence that is generating, then chunks of the prompts
of sequences that are still being read (at most ``prefill_chunk_tokens()`` prompt
tokens per step, so a long prompt never stalls the others for long), each token
tagged with its sequence's id. After ``llama_decode`` every sequence whose logits
came out samples its next token with its own :class:`TokenSampler`. A new request
joins between two steps, as soon as a sequence slot and room in the KV cache are free;
a finished, closed or cancelled sequence leaves between two steps and its KV cells
are freed. Outputs never mix: a sequence only ever reads its own logits and its own
cells (llama.cpp masks attention by sequence id).

Only the worker thread ever calls into llama.cpp (other work on the context, such as scoring text,
is handed to it with :meth:`Engine.call`): libgomp keeps a pool of threads for each thread that
starts parallel work, and with more pool threads than cores it stops spinning at barriers, which
made decoding ~40% slower once a second thread had touched the context.

Which KV stream a sequence uses, reusing the cells a finished request or a running one holds for the
same prompt start, and keeping the running ids consecutive, is ``llamacpp_slots``' part.

Each sequence slot has its own KV stream of a whole context (``kv_unified = False``),
and a request's prompt plus its new tokens never exceed a context, so a running
sequence never runs out of cells; it also gives a one-token step of a sequence the logits it gets
alone in the simple cases tested. Under real load on Qwen a greedy reply may still part from the
lone one at a near-tie: some of llama.cpp's arithmetic rounds differently in a batch (docs/models.md,
"Chat").
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ...core.errors import ModelbayError
from .contract import Generated, GenerationSettings
from .llamacpp_slots import Slots
from .sampling import TokenSampler
from .stops import cut_at_stop

log = logging.getLogger("modelbay.ml.llm.llamacpp")


class Sequence:
    """One request being generated: its prompt, sampling state, reply so far and where its events go."""

    def __init__(self, prompt_ids: list[int], settings: GenerationSettings, max_new_tokens: int,
                 cancelled: Callable[[], bool] = lambda: False) -> None:
        self.prompt_ids, self.settings, self.max_new_tokens = prompt_ids, settings, max_new_tokens
        self.sampler = TokenSampler(settings, prompt_ids)
        self.cancelled = cancelled  # asked between steps: the request that wanted it is gone
        self.closed = False  # its consumer stopped reading (a closed stream)
        self.slot: int | None = None  # its sequence id in the KV cache while it runs
        self.read = 0  # prompt tokens in the KV cache
        self.reused = 0  # of those, the ones not read again: left by an earlier request or copied from a running one
        self.waits = 0  # steps it waited for another to read a prompt start it then copied (llamacpp_slots)
        self.fed: list[int] = []  # reply tokens fed back to the model (their cells are in the KV cache)
        self.pending: int | None = None  # the last sampled token, fed to the model at the next step
        self.reply = b""
        self.text = ""
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self.events: queue.SimpleQueue = queue.SimpleQueue()  # ("text", str) ... then ("done", Generated|Exception)

    def wanted(self) -> bool:
        return not self.closed and not self.cancelled()

    def result(self) -> Generated:
        return Generated(text=self.text, finish_reason=self.finish_reason, prompt_tokens=len(self.prompt_ids),
                         completion_tokens=self.completion_tokens, cached_prompt_tokens=self.reused)


class Engine:
    """The worker thread and its queue of sequences, over a ``NativeModel``."""

    def __init__(self, native, prefill_chunk_tokens: Callable[[], int]) -> None:
        self.native = native
        self.prefill_chunk_tokens = prefill_chunk_tokens
        self.step_listeners: list[Callable[[], None]] = []
        self.waiting: list[Sequence] = []
        self.running: list[Sequence] = []
        self.calls: list[tuple[Callable[[], Any], Future]] = []  # work for the worker thread, between two steps
        self.slots = Slots(native)
        self.stopping = False
        self.wakeup = threading.Condition()
        self.worker = threading.Thread(target=self._run, name="modelbay-llama.cpp", daemon=True)
        self.worker.start()

    def submit(self, sequences: list[Sequence]) -> None:
        with self.wakeup:
            self.waiting.extend(sequences)
            self.wakeup.notify()

    def call(self, work: Callable[[], Any]) -> Any:
        """Run ``work`` on the worker thread between two steps and return its result (or raise its error)."""
        done: Future = Future()
        with self.wakeup:
            if self.stopping:
                raise RuntimeError("the llama.cpp engine is stopped")
            self.calls.append((work, done))
            self.wakeup.notify()
        return done.result()

    def drop_kept(self) -> None:
        """Forget every free slot's kept cells (the next prompts are read whole)."""
        self.call(self.slots.drop_kept)

    def stop(self) -> None:
        with self.wakeup:
            self.stopping = True
            self.wakeup.notify()
        self.worker.join()

    def _run(self) -> None:
        while True:
            with self.wakeup:
                while not self.stopping and not self.waiting and not self.running and not self.calls:
                    self.wakeup.wait()
                if self.stopping:
                    for _, done in self.calls:
                        done.set_exception(RuntimeError("the llama.cpp engine stopped"))
                    return
                calls, self.calls = self.calls, []
                self._admit()
                self._drop_unwanted()  # after admitting: a request gone while it waited never runs a step
                self.slots.share_prefixes(self.running)
                self.slots.close_gaps(self.running)
            for work, done in calls:
                try:
                    done.set_result(work())
                except Exception as exc:  # noqa: BLE001 - handed back to the caller, who raises it
                    done.set_exception(exc)
            if self.running:
                try:
                    self._step()
                except Exception as exc:
                    log.exception("llama.cpp step failed")
                    for seq in list(self.running):
                        self._finish(seq, None, error=exc)

    def _drop_unwanted(self) -> None:
        for seq in [s for s in self.waiting if not s.wanted()]:
            self.waiting.remove(seq)
            self._finish(seq, "cancelled")
        for seq in [s for s in self.running if not s.wanted()]:
            self._finish(seq, "cancelled")

    def _admit(self) -> None:
        """Start waiting sequences, oldest first, while a slot is free (each slot has a whole context of cells)."""
        while self.waiting and self.slots.free:
            seq = self.waiting.pop(0)
            self.slots.take(seq)
            self.running.append(seq)

    def _step(self) -> None:
        """One ``llama_decode`` over every running sequence, then one token for each that has logits."""
        entries: list[tuple[int, int, int, bool]] = []
        sampling: list[tuple[int, Sequence]] = []
        for seq in self.running:
            if seq.pending is not None:
                position = len(seq.prompt_ids) + seq.completion_tokens - 1
                entries.append((seq.pending, position, seq.slot, True))
                seq.fed.append(seq.pending)
                sampling.append((len(entries) - 1, seq))
        room = min(self.prefill_chunk_tokens(), self.native.batch_tokens - len(entries))
        readers: list[Sequence] = []
        for seq in self.running:
            left = len(seq.prompt_ids) - seq.read
            if seq.pending is not None or left == 0 or room <= 0 or self.slots.defer(seq, readers):
                continue
            readers.append(seq)
            take = min(room, left)
            for k in range(seq.read, seq.read + take):
                entries.append((seq.prompt_ids[k], k, seq.slot, k == len(seq.prompt_ids) - 1))
            seq.read, room = seq.read + take, room - take
            if seq.read == len(seq.prompt_ids):
                sampling.append((len(entries) - 1, seq))
        entries, sampling = _by_sequence_id(entries, sampling)
        with self.native.lock:
            code = self.native.decode(entries)
            if code != 0:
                raise ModelbayError(f"llama.cpp could not run a batch of {len(entries)} tokens (llama_decode: {code})")
            logits = [(self.native.logits(index), seq) for index, seq in sampling]
        for listener in list(self.step_listeners):  # before any caller hears of this step's tokens
            listener()
        for row, seq in logits:
            self._push(seq, seq.sampler.choose(row))

    def _push(self, seq: Sequence, token: int) -> None:
        seq.completion_tokens += 1
        seq.pending = None
        if self.native.is_end(token):
            return self._finish(seq, "stop")
        seq.sampler.add(token)
        seq.reply += self.native.piece(token)
        seq.text, stopped = cut_at_stop(seq.reply.decode("utf-8", "replace"), seq.settings.stop)
        if stopped:
            return self._finish(seq, "stop")
        if seq.completion_tokens >= seq.max_new_tokens:
            return self._finish(seq, "length")
        seq.pending = token
        seq.events.put(("text", seq.text))

    def _finish(self, seq: Sequence, reason: str | None, error: Exception | None = None) -> None:
        seq.finish_reason = reason or "stop"
        if seq in self.running:
            self.running.remove(seq)
            self.slots.release(seq, keep=error is None)  # its cells stay for a next prompt that starts the same way
        seq.events.put(("done", error if error is not None else seq.result()))


def _by_sequence_id(entries: list[tuple[int, int, int, bool]], sampling: list[tuple[int, Sequence]]):
    """The batch ordered by sequence id (stable: each sequence's tokens keep their order), and where each
    sampled row went.

    With one KV stream per sequence, llama.cpp cuts a batch whose sequence ids are out of order into
    several micro-batches, each a full pass over the weights: 8 one-token sequences took 84 ms in
    order, 160 ms shuffled and 284 ms reversed (Qwen 0.5B, 2 cores, session 11).
    """
    order = sorted(range(len(entries)), key=lambda i: entries[i][2])
    moved_to = {old: new for new, old in enumerate(order)}
    return [entries[i] for i in order], [(moved_to[index], seq) for index, seq in sampling]
