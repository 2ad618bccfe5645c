"""``modelbay.pipeline(task)``: the Python entry point, shaped like Hugging Face pipelines."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from .core.errors import BadInput
from .core.loading import load_task
from .core.protocols import Rendering, Streaming
from .core.registry import get_task, tasks_with
from .core.task import Task


class Pipeline:
    """A task with its model, loaded lazily on the first call.

    >>> clf = pipeline("sentiment")                      # doctest: +SKIP
    >>> [r.label for r in clf(["great!", "太差了"])]      # doctest: +SKIP
    ['positive', 'negative']
    """

    def __init__(self, task: str, model: str | None = None, device: str | None = None) -> None:
        self.task_cls = get_task(task)  # fails fast on an unknown name
        self.model_name = model or self.task_cls.default_model
        self.device = device
        self._task: Task | None = None
        self._lock = threading.Lock()

    @property
    def task(self) -> Task:
        if self._task is None:
            with self._lock:
                if self._task is None:
                    self._task = load_task(self.task_cls.name, self.model_name, self.device)
        return self._task

    def load(self) -> Pipeline:
        """Load the model now rather than on the first call."""
        _ = self.task
        return self

    def __call__(self, inputs: Any, batch_size: int = 32) -> Any:
        """List in, list out; a single item in, a single result out. Paths are read for media."""
        single = not isinstance(inputs, (list, tuple))
        outputs = self.run(self.coerce([inputs] if single else list(inputs)), batch_size)
        return outputs[0] if single else outputs

    def coerce(self, values: list) -> list:
        """Validate raw values (strings, bytes, paths, dicts) into the task's inputs; errors name the item."""
        return [self.task_cls.coerce(v, allow_paths=True, field=f"inputs[{i}]") for i, v in enumerate(values)]

    def run(self, items: list, batch_size: int = 32, on_batch: Callable[[int], None] | None = None) -> list:
        """Run validated inputs ``batch_size`` at a time; ``on_batch(n)`` after each (progress bars)."""
        outputs = []
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            outputs.extend(self.task(chunk))
            if on_batch is not None:
                on_batch(len(chunk))
        return outputs

    def stream(self, item: Any) -> Iterator[str]:
        """Yield pieces of the output as they are produced (tasks that declare ``Streaming``: chat, speech).

        >>> "".join(pipeline("chat").stream("Say hi"))  # doctest: +SKIP
        'Hi! How can I help you today?'
        """
        if not issubclass(self.task_cls, Streaming):
            raise BadInput(f"task {self.task_cls.name!r} does not stream",
                           hint=f"call it without streaming; tasks that stream: {', '.join(tasks_with('stream'))}")
        return self.task.stream(self.task_cls.coerce(item, allow_paths=True))

    def render(self, item: Any, output: Any = None) -> bytes:
        """A picture of ``item``'s result (PNG; MP4 for video): boxes, masks or text drawn on its image.

        ``output`` is what the pipeline returned for ``item``; without it the item is run first.

        >>> det = pipeline("object-detection")                                      # doctest: +SKIP
        >>> open("boxes.png", "wb").write(det.render("street.jpg"))                 # doctest: +SKIP
        """
        if not issubclass(self.task_cls, Rendering):
            raise BadInput(f"task {self.task_cls.name!r} has nothing to draw",
                           hint=f"tasks that render: {', '.join(tasks_with('render'))}")
        validated = self.task_cls.coerce(item, allow_paths=True)
        if output is None:
            output = self.task([validated])[0]
        return self.task.render(validated, output)

    def __repr__(self) -> str:
        return f"Pipeline(task={self.task_cls.name!r}, model={self.model_name!r}, loaded={self._task is not None})"


def pipeline(task: str, model: str | None = None, device: str | None = None) -> Pipeline:
    """Create a pipeline for ``task`` (a name or alias), with its default model unless ``model`` is given."""
    return Pipeline(task, model=model, device=device)
