"""Loaded models: lazy loading, one lock per model, load errors kept and reported,
least-recently-used idle models unloaded when the process is over its memory budget."""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field

from ..core.catalog import canonical_ref
from ..core.errors import ModelbayError, ModelNotFound, ModelUnavailable
from ..core.loading import load_task
from ..core.registry import get_task
from ..core.task import Task

log = logging.getLogger("modelbay.serve")


@dataclass
class Slot:
    task: Task | None = None
    error: str | None = None
    loaded_at: float | None = None
    load_s: float | None = None
    last_used: float = 0.0
    unloads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)  # serialises forward passes on this model


def rss_bytes() -> int:
    """Resident memory of this process (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as fh:
            import os

            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class ModelPool:
    """Holds set-up tasks keyed by (task, canonical model reference). Thread-safe."""

    def __init__(self, memory_budget_bytes: int | None = None) -> None:
        self._slots: dict[tuple[str, str], Slot] = {}
        self._guard = threading.Lock()
        self.memory_budget_bytes = memory_budget_bytes

    def slot(self, key: tuple[str, str]) -> Slot:
        with self._guard:
            return self._slots.setdefault(key, Slot())

    def key(self, task: str, model: str | None) -> tuple[str, str]:
        """(task, canonical model reference): every spelling of one model is one slot, one copy in memory.

        Never the string a client sent: ``m@1``, ``m@01``, ``m@001`` would each load a copy. A bare trained
        name resolves to its promoted version on every call, so a promotion takes effect at the next request.
        """
        cls = get_task(task)
        return cls.name, canonical_ref(model or cls.default_model)

    def get(self, task: str, model: str | None = None) -> tuple[Task, Slot]:
        """Return the loaded task, loading it on first use. Raises ModelUnavailable on failure."""
        key = self.key(task, model)
        slot = self.slot(key)
        loaded = False
        if slot.task is None:
            with slot.lock:
                if slot.task is None:
                    start = time.perf_counter()
                    try:
                        slot.task = load_task(*key)
                    except ModelNotFound:
                        with self._guard:  # a name outside the catalog: keep no record, or clients could grow it
                            self._slots.pop(key, None)
                        raise
                    except ModelbayError as exc:
                        slot.error = str(exc)
                        raise
                    except Exception as exc:
                        slot.error = f"{type(exc).__name__}: {exc}"
                        raise ModelUnavailable(f"loading {key[1]!r} for {key[0]!r} failed: {slot.error}") from exc
                    slot.error = None
                    slot.loaded_at = time.time()
                    slot.load_s = time.perf_counter() - start
                    loaded = True
        slot.last_used = time.time()
        task_obj = slot.task
        if loaded:
            self.enforce_budget(keep=key)
        return task_obj, slot

    def loaded(self, task: str, model: str | None = None) -> Task | None:
        """The task if its model is loaded now, else None; never loads (a bare trained name costs one index query)."""
        slot = self._slots.get(self.key(task, model))
        found = slot.task if slot is not None else None
        if found is not None:
            slot.last_used = time.time()
        return found

    def touch(self, task: Task) -> None:
        self.slot((task.name, task.model.spec.name)).last_used = time.time()

    def unload(self, key: tuple[str, str]) -> bool:
        """Drop a loaded model if no forward pass is running on it. Returns whether it was unloaded."""
        slot = self.slot(key)
        if slot.task is None or not slot.lock.acquire(blocking=False):
            return False
        try:
            slot.task = None
            slot.unloads += 1
        finally:
            slot.lock.release()
        gc.collect()
        _trim_heap()
        return True

    def enforce_budget(self, keep: tuple[str, str] | None = None) -> list[tuple[str, str]]:
        """Unload least-recently-used idle models while over the memory budget; returns what was unloaded."""
        unloaded: list[tuple[str, str]] = []
        if not self.memory_budget_bytes:
            return unloaded
        candidates = sorted(
            ((k, s) for k, s in self.status().items() if s.task is not None and k != keep), key=lambda ks: ks[1].last_used
        )
        for key, _slot in candidates:
            if rss_bytes() <= self.memory_budget_bytes:
                break
            if self.unload(key):
                log.info("unloaded %s=%s: over the memory budget", *key)
                unloaded.append(key)
        return unloaded

    def status(self) -> dict[tuple[str, str], Slot]:
        with self._guard:
            return dict(self._slots)


def _trim_heap() -> None:
    """Give freed memory back to the OS (glibc keeps it otherwise, and RSS would not drop)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
