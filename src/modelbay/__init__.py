"""modelbay: pretrained AI capabilities for product teams, offline first.

>>> import modelbay
>>> clf = modelbay.pipeline("sentiment")     # doctest: +SKIP
>>> clf(["great!", "太差了"])                # doctest: +SKIP
"""

from __future__ import annotations

from .core.version import __version__

__all__ = ["Pipeline", "__version__", "list_tasks", "pipeline"]


def __getattr__(name: str):
    # Keep `import modelbay` instant: load the pipeline machinery on first use.
    if name in ("pipeline", "Pipeline"):
        from . import api as _p

        return getattr(_p, name)
    raise AttributeError(f"module 'modelbay' has no attribute {name!r}")


def list_tasks() -> list[str]:
    """Names of every registered task."""
    from .core.registry import task_names

    return task_names()
