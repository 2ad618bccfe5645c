"""Train a task into the artifact store: the one flow ``modelbay train`` and the server's training jobs share.

>>> artifact = train_to_store("text-classification", "intent", "tickets.csv",   # doctest: +SKIP
...                           {"text_col": "message", "label_col": "intent"})
>>> artifact.ref, artifact.promoted                                             # doctest: +SKIP
('intent@1', True)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from ..core.store import Artifact
from ..core.task import Progress


def train_to_store(task: str, name: str, data: str | Path, options: dict[str, Any], progress: Progress = False, *,
                   around_fit: Callable[[], AbstractContextManager] = nullcontext) -> Artifact:
    """Train ``task`` on ``data`` as the next version of ``name`` and return that version as published.

    The version is the one the store reserved for this run, never "the newest", which another
    trainer of the same name may have published meanwhile. ``around_fit`` wraps the call to
    ``fit`` (the job runner makes training interruptible there); an exception from it, or from
    ``fit``, publishes nothing.
    """
    from ..core.errors import BadInput
    from ..core.registry import all_tasks, get_task
    from ..core.store import ArtifactStore
    from ..data.databases import data_source

    cls = get_task(task)
    if "train" not in cls.capabilities:
        trainable = ", ".join(sorted(t.name for t in all_tasks() if "train" in t.capabilities))
        raise BadInput(f"task {cls.name!r} cannot be trained; trainable: {trainable}")
    store = ArtifactStore()
    with store.new_version(name, cls.name) as staged, around_fit():
        cls.fit(data_source(data), staged.path, dict(options), progress=progress, name=name)
    return store.get(staged.ref)
