"""One training job in its own process: ``python -m modelbay.train.job_runner`` (started by ``serve/jobs.py``).

A crash, an out-of-memory kill or a cancel ends this process, never the server.

Protocol:

* stdin: one JSON line ``{"task", "name", "data", "options"}``. stdin then stays open; its end means
  the server is gone, and the job cancels itself.
* stdout: JSON lines, and nothing else (anything a library prints goes to stderr):
  ``{"event": "progress", "stage", "done", "total"}`` (at most ~10 a second),
  then one of ``{"event": "succeeded", "model": "name@3", "card": {...}}``,
  ``{"event": "failed", "code", "message", "hint"}`` or ``{"event": "cancelled"}``.
* SIGTERM cancels: training stops at once (between two Python steps), the store's staging
  directory is removed, and no version is published. Publishing itself (a rename and one SQLite
  commit) is never interrupted, so a job either publishes a complete version or none.

The training itself is :func:`modelbay.train.publish.train_to_store`, the flow ``modelbay train`` runs too;
this module adds the protocol and cancellation around it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .publish import train_to_store


class JobCancelled(BaseException):
    """Raised inside training to stop it; a BaseException so that no ``except Exception`` swallows it."""


class _CancelState:
    def __init__(self) -> None:
        self.requested = False
        self.interruptible = False

    def on_signal(self, signum, frame) -> None:
        self.requested = True
        if self.interruptible:
            raise JobCancelled()

    @contextmanager
    def interruptible_fit(self) -> Iterator[None]:
        """Around ``fit``: a cancel stops training at once; one asked for before or just after it stops publishing."""
        self.interruptible = True
        try:
            if self.requested:  # cancelled while the process was starting
                raise JobCancelled()
            yield
        finally:
            self.interruptible = False
        if self.requested:  # asked while training was between two interruptible points
            raise JobCancelled()


def main() -> int:
    # the protocol gets a private copy of stdout; fd 1 (what C libraries and print() write to) becomes stderr
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def emit(event: dict[str, Any]) -> None:
        proto.write(json.dumps(event, default=str) + "\n")
        proto.flush()

    cancel = _CancelState()
    signal.signal(signal.SIGTERM, cancel.on_signal)
    try:
        spec = json.loads(sys.stdin.readline() or "null")
        if not isinstance(spec, dict) or not {"task", "name", "data"} <= set(spec):
            raise ValueError(f"expected a JSON object with task, name, data on stdin, got {spec!r:.200}")
    except ValueError as exc:
        emit({"event": "failed", "code": "bad_input", "message": str(exc)})
        return 2

    def watch_parent() -> None:
        sys.stdin.read()  # returns at end of file: the server closed the pipe or died
        cancel.requested = True
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_parent, daemon=True).start()
    last = {"stage": None, "at": 0.0}

    def on_progress(stage: str, done: int, total: int) -> None:
        interruptible, cancel.interruptible = cancel.interruptible, False  # a line is never cut in half
        try:
            now = time.monotonic()
            if stage != last["stage"] or done >= total or now - last["at"] >= 0.1:
                last.update(stage=stage, at=now)
                emit({"event": "progress", "stage": stage, "done": done, "total": total})
        finally:
            cancel.interruptible = interruptible
        if cancel.requested and interruptible:
            raise JobCancelled()

    from ..core.errors import ModelbayError

    try:
        artifact = train_to_store(spec["task"], spec["name"], spec["data"], spec.get("options") or {},
                                  progress=on_progress, around_fit=cancel.interruptible_fit)
    except JobCancelled:
        emit({"event": "cancelled"})
        return 0
    except ModelbayError as exc:
        emit({"event": "failed", **exc.to_dict()})
        return 1
    except Exception as exc:  # noqa: BLE001 - report any training failure to the server, with its type
        import traceback

        traceback.print_exc()
        emit({"event": "failed", "code": "training_failed", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    emit({"event": "succeeded", "model": artifact.ref, "card": artifact.card})
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown: torch/OpenMP threads can make a normal exit slow
