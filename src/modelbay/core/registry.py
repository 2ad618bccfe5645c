"""Which tasks exist. Task modules register themselves; plugins come in by entry point.

Importing a task module is cheap (pydantic only): heavy libraries are imported
inside ``setup``. So listing tasks never loads torch.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

from .errors import UnknownTask
from .task import Task

TASKS_PACKAGE = "modelbay.tasks"

_TASKS: dict[str, type[Task]] = {}
_ALIASES: dict[str, str] = {}
_loaded = False


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: make a task available by its name and aliases."""
    for key in (cls.name, *cls.aliases):
        owner = _ALIASES.get(key)
        if owner is not None and owner != cls.name:
            raise ValueError(f"task name {key!r} is taken by {owner!r}")
    _TASKS[cls.name] = cls
    for key in (cls.name, *cls.aliases):
        _ALIASES[key] = cls.name
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    # every public module in modelbay/tasks is a task module: adding a task is adding a file
    package = importlib.import_module(TASKS_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{TASKS_PACKAGE}.{info.name}")
    for ep in entry_points(group="modelbay.tasks"):
        ep.load()
    _loaded = True


def task_names() -> list[str]:
    _load_all()
    return sorted(_TASKS)


def all_tasks() -> list[type[Task]]:
    _load_all()
    return [_TASKS[n] for n in sorted(_TASKS)]


def tasks_with(capability: str) -> list[str]:
    """Names of the tasks that list ``capability`` ("train", "eval", "stream", "similarity"), for error messages.

    >>> "ner" in tasks_with("train") and "chat" not in tasks_with("train")
    True
    """
    return [cls.name for cls in all_tasks() if capability in cls.capabilities]


def get_task(name: str) -> type[Task]:
    """Return the task class for a name or alias; unknown names list the valid ones."""
    _load_all()
    key = name.strip().lower().replace("_", "-")
    if key in _ALIASES:
        return _TASKS[_ALIASES[key]]
    close = [alias for alias in sorted(_ALIASES) if _similar(key, alias)]
    guess = f" did you mean {close[0]!r}?" if close else ""
    raise UnknownTask(
        f"unknown task {name!r};{guess} valid tasks: {', '.join(sorted(_TASKS))}",
        hint="`modelbay tasks` (or GET /v1/tasks) lists them with their aliases",
    )


def _similar(a: str, b: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8
