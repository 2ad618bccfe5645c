"""Loaded models shared by the test session: each loads once, and goes once no later test module needs it.

Tests get a loaded task from the ``loaded_task`` fixture (``loaded_task("chat")``,
``loaded_task("embeddings", "multilingual-e5-small")``), and in-process servers (``create_app``
in a test) load theirs from the same cache, so the modules and apps that run one model hold one
copy of it, not one each. A module says which models it uses:

    pytestmark = pytest.mark.models("chat", "embeddings:multilingual-e5-small")

(a task name means its default model). After each module, every cached model that no *later*
module declares is released: its last reference dropped, the garbage collected and the freed
memory handed back to the system. So a model stays loaded while its tests run, however they are
spread over the suite, and the process holds what the remaining tests need rather than
everything loaded so far. A model that a module uses without declaring it goes when that module
ends. Loading itself is still tested for real: ``load_task`` called directly always loads.

What is shared: catalog models, keyed by their spec and the settings that change how they load.
Trained models (``artifact:`` sources, one store per test) are never shared.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Iterable
from typing import Any


def _pair(task: str, model: str | None = None) -> tuple[str, str]:
    """(task name, model name): aliases and a missing model (the task's default) spelled one way."""
    from modelbay.core.registry import get_task

    cls = get_task(task)
    return cls.name, model or cls.default_model


def declared(spec: str) -> tuple[str, str]:
    """A ``models`` marker argument, ``"task"`` or ``"task:model"``, as a (task, model) pair."""
    task, _, model = spec.partition(":")
    return _pair(task, model or None)


class ModelCache:
    def __init__(self) -> None:
        self._tasks: dict[tuple, Any] = {}
        self._later: list[set[tuple[str, str]]] = []  # per module still to run: the models it declares
        self.releases = 0

    def __call__(self, task: str, model: str | None = None):
        """The loaded task (loading it on first use), shared with every other test that asks for it."""
        key = self._key(task, model)
        if key is None:
            from modelbay.core.loading import load_task

            return load_task(task, model)
        if key not in self._tasks:
            from modelbay.core.loading import load_task

            self._tasks[key] = load_task(task, model)
        return self._tasks[key]

    def for_pool(self, task: str, model: str | None = None, device: str | None = None):
        """What ``ModelPool`` calls instead of ``load_task`` (same signature)."""
        if device is not None:
            from modelbay.core.loading import load_task

            return load_task(task, model, device)
        return self(task, model)

    @staticmethod
    def _key(task: str, model: str | None) -> tuple | None:
        from modelbay.core.catalog import get_spec
        from modelbay.core.settings import get_settings

        pair = _pair(task, model)
        spec = get_spec(pair[1])
        if any(source.startswith("artifact:") for source in spec.sources):
            return None
        s = get_settings()
        return (*pair, spec.model_dump_json(), s.precision, s.device, s.num_threads, str(s.models_dir), s.offline)

    # -- lifetime ---------------------------------------------------------------
    def plan(self, modules: Iterable[set[tuple[str, str]]]) -> None:
        """The declared models of each module, in the order the modules will run."""
        self._later = [set(m) for m in modules]

    def module_done(self) -> None:
        """Release what no module after the one just finished declares, and what the module's apps held."""
        if self._later:
            self._later.pop(0)
        needed = set().union(*self._later) if self._later else set()
        self._drop([key for key in self._tasks if key[:2] not in needed])
        _forget_fastapi_endpoints()
        free_memory()

    def release(self, task: str, model: str | None = None) -> None:
        """Release one model now, unless a later module declares it (a module done with it early)."""
        pair = _pair(task, model)
        if not any(pair in m for m in self._later[1:]):
            self._drop([key for key in self._tasks if key[:2] == pair])

    def _drop(self, keys: list[tuple]) -> None:
        if not keys:
            return
        for key in keys:
            del self._tasks[key]
        self.releases += len(keys)
        free_memory()


def _forget_fastapi_endpoints() -> None:
    """Let the in-process apps of finished tests go.

    FastAPI (0.165) remembers the last 4,096 endpoint callables it classified, in ``lru_cache``s of
    ``fastapi/dependencies/models.py``. An app's endpoints close over its server context, so every
    app a test created -- with every model it loaded -- would otherwise live as long as the session.
    """
    module = sys.modules.get("fastapi.dependencies.models")
    for value in list(vars(module).values()) if module else ():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def free_memory() -> None:
    """Collect garbage and return freed heap pages to the system (glibc keeps them otherwise)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the memory is reused by this process instead
        pass
