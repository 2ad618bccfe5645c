"""One progress interface for every trainer: Rich bars in the CLI, a callback for server jobs, or nothing.

>>> seen = []
>>> with reporter(lambda stage, done, total: seen.append((stage, done, total))) as rep:
...     tick = rep.stage("epochs", total=3)
...     for epoch in range(1, 4):
...         tick(epoch)
>>> seen[-1]
('epochs', 3, 3)

Trainers call ``rep.stage(name, total)`` once per phase (embedding, epochs, steps…) and the
returned function with the number done so far. A callback may raise (the server's jobs raise
``JobCancelled`` when a job is cancelled) to stop training between steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Tick = Callable[[int], None]


class Reporter:
    def stage(self, name: str, total: int) -> Tick:  # pragma: no cover - interface
        raise NotImplementedError


class _Silent(Reporter):
    def stage(self, name: str, total: int) -> Tick:
        return lambda done: None


class _Callback(Reporter):
    def __init__(self, callback: Callable[[str, int, int], None]) -> None:
        self.callback = callback

    def stage(self, name: str, total: int) -> Tick:
        self.callback(name, 0, total)
        return lambda done: self.callback(name, int(done), total)


class _Rich(Reporter):
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True))
        self.bar.start()

    def stage(self, name: str, total: int) -> Tick:
        task_id = self.bar.add_task(name, total=total)
        return lambda done: self.bar.update(task_id, completed=done)

    def close(self) -> None:
        self.bar.stop()


@contextmanager
def reporter(progress: bool | Callable[[str, int, int], None] | None) -> Iterator[Reporter]:
    """``False``/``None``: silent; ``True``: Rich bars on stderr; a callable: ``callback(stage, done, total)``."""
    if callable(progress):
        yield _Callback(progress)
    elif progress:
        rich = _Rich()
        try:
            yield rich
        finally:
            rich.close()
    else:
        yield _Silent()
