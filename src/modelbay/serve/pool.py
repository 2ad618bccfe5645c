"""Loaded models: lazy loading, one lock per model, load errors kept and reported."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ..core.errors import ModelbayError, ModelUnavailable
from ..core.loading import load_task
from ..core.registry import get_task
from ..core.task import Task


@dataclass
class Slot:
    task: Task | None = None
    error: str | None = None
    loaded_at: float | None = None
    load_s: float | None = None
    last_used: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)  # serialises forward passes on this model


class ModelPool:
    """Holds set-up tasks keyed by (task, model). Thread-safe."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, str], Slot] = {}
        self._guard = threading.Lock()

    def _slot(self, key: tuple[str, str]) -> Slot:
        with self._guard:
            return self._slots.setdefault(key, Slot())

    def key(self, task: str, model: str | None) -> tuple[str, str]:
        cls = get_task(task)
        return cls.name, model or cls.default_model

    def get(self, task: str, model: str | None = None) -> tuple[Task, Slot]:
        """Return the loaded task, loading it on first use. Raises ModelUnavailable on failure."""
        key = self.key(task, model)
        slot = self._slot(key)
        if slot.task is None:
            with slot.lock:
                if slot.task is None:
                    start = time.perf_counter()
                    try:
                        slot.task = load_task(*key)
                    except ModelbayError as exc:
                        slot.error = str(exc)
                        raise
                    except Exception as exc:  # a broken model must not take the server down
                        slot.error = f"{type(exc).__name__}: {exc}"
                        raise ModelUnavailable(f"loading {key[1]!r} for {key[0]!r} failed: {slot.error}") from exc
                    slot.error = None
                    slot.loaded_at = time.time()
                    slot.load_s = time.perf_counter() - start
        slot.last_used = time.time()
        return slot.task, slot

    def status(self) -> dict[tuple[str, str], Slot]:
        with self._guard:
            return dict(self._slots)
