"""Dynamic batching: concurrent requests for one model share forward passes.

A batcher owns one loaded task. Requests put their items on its queue; one worker
takes everything already waiting (up to ``max_batch_size`` items), waits at most
``max_wait_ms`` for more only while the batch is not full, runs one forward pass in
a thread, and hands each request its own slice of the outputs. A lone caller
therefore pays at most ``max_wait_ms``; under load, requests that arrive while a
pass runs form the next batch.

Under steady concurrency, N closed-loop callers would otherwise split into two
halves that alternate (one half computes while the other queues). So the batcher
tracks how many requests were in flight at once over the last second; when fewer
are queued than that, it waits for the callers it just answered to send their next
requests -- until ``regroup_wait_ms`` pass with no new arrival, at most
``REGROUP_CAP_FACTOR`` times that in all -- and runs one batch of N. A lone caller
(in flight: 1) never waits.

If a batch fails, its requests are retried one by one, so a bad item fails only
its own request. The queue is bounded: past ``max_queue`` waiting items a request
is refused with 503 and ``Retry-After`` instead of growing memory and latency.

The queue is fair between clients (an API key, else an address: whatever the
caller passes as ``client``): a batch takes one request per client in turn, so a
client that queues many requests delays another client's request by at most one
pass, not by its whole backlog. A request whose caller stopped waiting (timed out,
disconnected) leaves the queue at once and never runs; if its batch is already
running, its rows are flagged in a :mod:`modelbay.core.cancel` scope, and tasks that
loop (generation, transcription) stop working on them between steps.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.cancel import CancelFlag, cancel_scope
from ..core.errors import ModelbayError
from ..core.task import Task
from .config import BatchingConfig


class ServerBusy(ModelbayError):
    status_code = 503
    code = "server_busy"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message, hint=f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class ClientGone(ModelbayError):
    """The client disconnected before its answer was ready; its work was dropped (nobody reads this answer)."""

    status_code = 499  # "client closed request", as nginx logs it
    code = "client_closed_request"


@dataclass(eq=False)  # compared by identity: a request is removed from its queue by identity
class _Pending:
    items: list
    future: asyncio.Future
    client: str = ""
    enqueued: float = 0.0  # the batcher's clock when the request arrived
    #: set (on the event loop) once nobody waits for the answer; read by the forward pass's thread
    unwanted: CancelFlag = field(default_factory=CancelFlag)
    queued: bool = True


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


def _abandon(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(ClientGone("the client disconnected before the answer was ready"))


#: regrouping waits at most this many times ``regroup_wait_ms`` in all (while requests keep arriving)
REGROUP_CAP_FACTOR = 4


#: called after every forward pass with (task, model, batch_items, seconds)
BatchListener = Callable[[str, str, int, float], None]


class Batcher:
    """One loaded task's queue and the worker that runs its batches.

    ``clock`` (seconds, monotonic) times the waits: arrivals, the regroup window, the in-flight peak.
    The waits themselves run on the event loop's timers, so a test that swaps both (a virtual-time
    loop whose ``time`` is the clock) decides every arrival and every pass; the server keeps
    ``time.perf_counter``.
    """

    def __init__(self, task: Task, config: BatchingConfig, lock: threading.Lock,
                 listeners: list[BatchListener] | None = None, *,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.task = task
        self.config = config
        self.clock = clock
        self.lock = lock  # the model's lock: streams and batches never run a model at once
        self.listeners = listeners if listeners is not None else []
        self.max_batch = config.max_batch_size if (config.enabled and task.batchable) else 1
        self._queues: dict[str, deque[_Pending]] = {}  # per client, in round-robin order (served: to the back)
        self._queued_items = 0
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self.recent_batch_sizes: deque[int] = deque(maxlen=1000)
        self.busy = False
        self._in_flight = 0          # requests submitted and not yet answered
        self._peak = 0               # most requests in flight at once, over the current window
        self._peak_before = 0        # ... and over the window before it
        self._peak_since = 0.0

    @property
    def queued_items(self) -> int:
        return self._queued_items

    async def submit(self, items: list, timeout_s: float | None = None, *, client: str = "",
                     gone: asyncio.Future | None = None) -> list:
        """Run ``items`` (one request) through the model, batched with whatever else is waiting.

        ``client`` names who asks (an API key id or an address): the queue takes clients in turn.
        Past ``timeout_s`` the request gets :class:`TimeoutError`, and :class:`ClientGone` once ``gone``
        (a future the caller completes when its client disconnects) is done. Either way its items leave
        the queue, or, if already running, are flagged cancelled for the task. A timer on the loop rather
        than ``asyncio.wait_for``: that wraps every request in a task of its own.
        """
        if self._queued_items + len(items) > self.config.max_queue:
            raise ServerBusy(f"model {self.task.model.spec.name!r} has {self._queued_items} items waiting; "
                             f"the queue holds {self.config.max_queue}")
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done():
            self._wakeup = asyncio.Event()
            self._worker = loop.create_task(self._run())
        pending = _Pending(items, loop.create_future(), client, self.clock())
        self._queues.setdefault(client, deque()).append(pending)
        self._queued_items += len(items)
        self._in_flight += 1
        self._note_peak()
        self._wakeup.set()
        timer = loop.call_later(timeout_s, _expire, pending.future) if timeout_s is not None else None
        if gone is not None:
            gone.add_done_callback(lambda _: _abandon(pending.future))
        try:
            return await pending.future
        finally:
            pending.unwanted.set()  # answered, timed out, disconnected or cancelled: the task may stop on it
            if pending.queued:
                self._dequeue(pending)
            self._in_flight -= 1
            if timer is not None:
                timer.cancel()

    def _dequeue(self, pending: _Pending) -> None:
        queue = self._queues[pending.client]
        queue.remove(pending)
        if not queue:
            del self._queues[pending.client]
        pending.queued = False
        self._queued_items -= len(pending.items)

    def _note_peak(self) -> None:
        """Keep the most requests in flight at once over the last one to two seconds (two 1 s windows)."""
        now = self.clock()
        if now - self._peak_since > 1.0:
            self._peak_before = self._peak if now - self._peak_since < 2.0 else 0
            self._peak, self._peak_since = self._in_flight, now
        else:
            self._peak = max(self._peak, self._in_flight)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queues:
                batch = await self._collect()
                if batch:
                    await self._execute(batch)
                    # let the requests just answered send their responses before the next batch is
                    # collected, so the regroup wait counts from when the answers are out: counted
                    # from the end of the pass, it can run out while the loop is still answering
                    # (32 answers take a few ms), the queued part of a split goes alone, and the
                    # callers stay split into two groups that take turns
                    await asyncio.sleep(0)

    async def _collect(self) -> list[_Pending]:
        batch: list[_Pending] = []
        size = 0
        start = self.clock()
        deadline = start + self.config.max_wait_ms / 1000
        regroup_s = self.config.regroup_wait_ms / 1000
        regroup_cap = start + REGROUP_CAP_FACTOR * regroup_s
        last_arrival = start
        while True:
            taken = len(batch)
            size = self._take(batch, size)
            last_arrival = max([last_arrival, *(pending.enqueued for pending in batch[taken:])])
            now = self.clock()
            expected = min(self.max_batch, max(self._peak, self._peak_before))  # callers about to send again
            if len(batch) < expected and self.max_batch > 1:
                # wait while the callers just answered keep coming back: until regroup_wait_ms pass with
                # no new request (the event loop parses them one after another, so N callers arrive over
                # N x its per-request time), and never longer than the cap
                deadline = max(deadline, min(last_arrival + regroup_s, regroup_cap))
            remaining = deadline - now
            if size >= self.max_batch or remaining <= 0 or self._queues or not batch:
                return batch
            self._wakeup.clear()
            try:
                async with asyncio.timeout(remaining):  # unlike wait_for, no task of its own per wait
                    await self._wakeup.wait()
            except TimeoutError:
                return batch

    def _take(self, batch: list[_Pending], size: int) -> int:
        """Move queued requests into ``batch`` while they fit, one per client in turn; returns its item count.

        A client's requests keep their order; a request that does not fit waits at the front of its
        client's queue while other clients' smaller requests may fill the batch, and since every client
        served moves to the back of the round, that client soon comes first (a lone request larger than
        ``max_batch`` runs alone).
        """
        took = True
        while took and size < self.max_batch:
            took = False
            for client in list(self._queues):
                queue = self._queues[client]
                if batch and size + len(queue[0].items) > self.max_batch:
                    continue
                pending = queue.popleft()
                pending.queued = False
                self._queued_items -= len(pending.items)
                del self._queues[client]
                if queue:
                    self._queues[client] = queue  # to the back of the round
                batch.append(pending)
                size += len(pending.items)
                took = True
                if size >= self.max_batch:
                    break
        return size

    async def _execute(self, batch: list[_Pending]) -> None:
        batch = [pending for pending in batch if not pending.future.done()]  # gone while the batch formed
        if not batch:
            return
        items = [item for pending in batch for item in pending.items]
        row_flags = [pending.unwanted for pending in batch for _ in pending.items]
        self.busy = True
        try:
            outputs = await asyncio.to_thread(self._forward, items, row_flags)
        except Exception as exc:  # noqa: BLE001 - handed to the request that caused it
            if len(batch) == 1:
                if not batch[0].future.done():
                    batch[0].future.set_exception(exc)
                return
            for pending in batch:  # find the culprit: the others still get their answers (gone ones are skipped)
                await self._execute([pending])
            return
        finally:
            self.busy = False
        start = 0
        for pending in batch:
            part = outputs[start : start + len(pending.items)]
            start += len(pending.items)
            if not pending.future.done():
                pending.future.set_result(part)

    def _forward(self, items: list, row_flags: list[CancelFlag]) -> list:
        started = time.perf_counter()  # the pass's own duration, for metrics: not the batcher's clock
        with self.lock:
            if all(flag.is_set() for flag in row_flags):  # everyone left while the model was busy: skip the pass
                return [None] * len(items)
            with cancel_scope(row_flags):  # row i is cancelled once its request is gone
                outputs = self.task(items)
        elapsed = time.perf_counter() - started
        self.recent_batch_sizes.append(len(items))
        spec = self.task.model.spec
        for listener in self.listeners:
            listener(self.task.name, spec.name, len(items), elapsed)
        return outputs

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def stats(self) -> dict[str, Any]:
        sizes = list(self.recent_batch_sizes)
        return {"queued_items": self._queued_items, "max_batch_size": self.max_batch,
                "batches": len(sizes), "mean_batch_size": round(sum(sizes) / len(sizes), 2) if sizes else None}
