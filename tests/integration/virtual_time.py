"""An asyncio event loop on a virtual clock, for tests whose outcome depends on *when* things happen.

Time stands still while anything is ready to run, and jumps straight to the next timer when
nothing is: ``asyncio.sleep(0.01)``, ``asyncio.timeout`` and ``loop.call_later`` keep their meaning,
but a loaded machine can no longer reorder events, and a test that waits a virtual minute takes
no time at all.

Work sent to a thread (``asyncio.to_thread``, ``run_in_executor``) runs at once, on the loop's
thread, and its answer arrives after the virtual seconds it spent: code in such a job calls
``clock.sleep(s)`` to stand for ``s`` seconds of computing. The loop keeps running meanwhile, as
it does beside a real worker thread. ``clock.sleep`` called on the loop itself (not in a job)
stands for the loop being busy: the clock moves on and every timer due meanwhile fires late.

>>> clock = VirtualClock()
>>> async def nap():
...     await asyncio.sleep(3600)
...     return clock()
>>> run(nap(), clock)
3600.0
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors


class VirtualClock:
    """Seconds since the loop started, moved only by timers coming due and by :meth:`sleep`."""

    def __init__(self) -> None:
        self.now = 0.0
        self._job_s: float | None = None  # virtual seconds spent by the job running now, if one is

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Spend ``seconds``: a job's computing time, or, on the loop, the loop being busy."""
        if self._job_s is not None:
            self._job_s += seconds
        else:
            self.now += seconds


class _JumpingSelector(selectors.DefaultSelector):
    """Never blocks while a timer is pending: it moves the clock to that timer instead."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self.clock = clock

    def select(self, timeout=None):
        events = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:  # no timer at all: only another thread can wake the loop (executor shutdown)
            return super().select(None)
        self.clock.now += timeout
        return []


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each job at once and answers it after the virtual time it spent (see the module's docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, clock: VirtualClock) -> None:
        super().__init__(max_workers=1)  # never started: submit below runs the job itself
        self.loop, self.clock = loop, clock

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        self.clock._job_s = 0.0
        try:
            settle, value = future.set_result, fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the job, as a thread would
            settle, value = future.set_exception, exc
        finally:
            spent, self.clock._job_s = self.clock._job_s, None
        self.loop.call_later(spent, _settle, future, settle, value)
        return future


def _settle(future: concurrent.futures.Future, settle, value) -> None:
    if future.set_running_or_notify_cancel():  # False: the awaiting side cancelled it
        settle(value)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(selector=_JumpingSelector(clock))
        self._virtual_clock = clock
        self.set_default_executor(_InlineExecutor(self, clock))

    def time(self) -> float:
        return self._virtual_clock.now


def run(coro, clock: VirtualClock):
    """``asyncio.run`` on a :class:`VirtualTimeLoop` driven by ``clock``."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(clock)) as runner:
        return runner.run(coro)
