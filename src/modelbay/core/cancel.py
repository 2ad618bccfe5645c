"""Cancellation of work nobody waits for any more: a per-row signal that long loops check between steps.

The server runs a task on a batch of items gathered from several requests. When a
request times out or its client disconnects, its rows are no longer wanted, but the
task's forward pass does not know requests. So the server opens a :class:`CancelScope`
around the pass (in the thread that runs it) with one flag per item, and loops that
take long -- token generation, transcription windows -- ask between steps whether
their row (or every row) is cancelled, and stop. The task contract is unchanged: a
task that never asks simply runs to the end, and outside the server (the Python API,
the CLI) there is no scope and nothing is ever cancelled.

A flag is anything with ``is_set()`` (a :class:`CancelFlag`, a ``threading.Event``).
Row *i* is the *i*-th item handed to the task call (``task(items)``); tasks whose
``preprocess`` keeps one entry per item, in order, can use the same index.

>>> flags = [CancelFlag(), CancelFlag()]
>>> with cancel_scope(flags):
...     flags[1].set()
...     row_cancelled(0), row_cancelled(1), all_cancelled()
(False, True, False)
>>> row_cancelled(1)  # outside a scope nothing is cancelled
False
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol


class Flag(Protocol):
    def is_set(self) -> bool: ...


class CancelFlag:
    """A one-way flag, cheaper than a ``threading.Event`` (one per request on the server's hot path).

    Set on the event loop, read by the thread running the pass; a bool attribute needs no lock.
    """

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


class CancelScope:
    """Whether each row of the running batch is still wanted (flags are set from another thread)."""

    def __init__(self, row_flags: Sequence[Flag]) -> None:
        self.row_flags = list(row_flags)

    def row_cancelled(self, row: int) -> bool:
        return 0 <= row < len(self.row_flags) and self.row_flags[row].is_set()

    def all_cancelled(self) -> bool:
        return bool(self.row_flags) and all(flag.is_set() for flag in self.row_flags)


_current: contextvars.ContextVar[CancelScope | None] = contextvars.ContextVar("modelbay_cancel_scope", default=None)


@contextmanager
def cancel_scope(row_flags: Sequence[Flag]) -> Iterator[CancelScope]:
    """Make ``row_flags`` the cancel signal of the work done in this block (this thread/context only)."""
    scope = CancelScope(row_flags)
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def current_scope() -> CancelScope | None:
    return _current.get()


def row_cancelled(row: int) -> bool:
    """True when row ``row`` of the running batch is no longer wanted; always False outside a scope."""
    scope = _current.get()
    return scope is not None and scope.row_cancelled(row)


def all_cancelled() -> bool:
    """True when no row of the running batch is wanted any more; always False outside a scope."""
    scope = _current.get()
    return scope is not None and scope.all_cancelled()
