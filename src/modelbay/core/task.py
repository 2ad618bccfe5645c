"""The task contract: every capability is one small ``Task`` subclass.

A task declares typed ``Input``/``Output`` models and implements
``setup`` / ``preprocess`` / ``_forward`` / ``postprocess``. Everything else —
pipeline(), the CLI, the HTTP server, batching — works on this contract and
never special-cases a task.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import BadInput, field_path
from .protocols import Progress, TaskContractError, capabilities_of, check_declarations

if TYPE_CHECKING:
    from .catalog import ResolvedModel

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


class TaskInput(BaseModel):
    """Base for request items: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def json_item(data: Any, primary: str) -> Any:
    """A whole item given as JSON text in its primary field, opened up; anything else unchanged.

    The CLI puts its argument in the primary field, so ``modelbay run forecasting '{"unique_id":
    "store_1"}'`` arrives as ``{"history": '{"unique_id": "store_1"}'}``. Inputs whose primary field
    is not free text call this from a ``model_validator(mode="before")``.

    >>> json_item({"history": '{"unique_id": "a", "horizon": 3}', "levels": [90]}, "history")
    {'levels': [90], 'unique_id': 'a', 'horizon': 3}
    """
    text = data.get(primary) if isinstance(data, dict) else None
    if isinstance(text, str) and text.lstrip().startswith("{"):
        import json

        try:
            item = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{primary}: not a valid JSON object ({exc.msg})") from None
        if isinstance(item, dict):
            return {**{k: v for k, v in data.items() if k != primary}, **item}
    return data


class TaskOutput(BaseModel):
    def summary(self) -> str:
        """One human-readable line for the CLI; tasks override it."""
        return self.model_dump_json()


class Task(Generic[In, Out]):
    """Base class of every task.

    Subclasses set the class attributes and implement ``setup`` and ``_forward``
    (and usually ``preprocess``/``postprocess``). Constructors only store
    configuration; ``setup`` loads the model. What a task supports beyond ``run``
    it declares by its bases (``Trainable``, ``Evaluable``, ``Streaming``…, from
    ``modelbay.core.protocols``); ``capabilities`` is derived from them.
    """

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    Input: ClassVar[type[TaskInput]]
    Output: ClassVar[type[TaskOutput]]
    default_model: ClassVar[str]
    #: field a bare value (a plain string or bytes) fills, e.g. ``"text"``
    primary_field: ClassVar[str] = "text"
    #: fields holding media, with their kind ("image" or "audio")
    media_fields: ClassVar[dict[str, str]] = {}
    #: what the task supports: "run" plus what its protocols give ("train", "eval", "stream",
    #: "similarity"); derived from its bases (``modelbay.core.protocols``), never set by hand
    capabilities: ClassVar[frozenset[str]] = frozenset({"run"})
    #: whether ``_forward`` gains from receiving many items at once
    batchable: ClassVar[bool] = True
    #: whether an item's output is the same whatever else shares its batch. LLM decoding is not: llama.cpp's
    #: kernels sum in another order for another batch shape, and a greedy near-tie can then flip a token
    #: (each output is still right for its own input; nothing is mixed between requests)
    batch_invariant: ClassVar[bool] = True
    #: whether streams may run at the same time as each other and as batches (thread-safe, and its runtime
    #: batches concurrent requests itself, as the llama.cpp engine does); False: the server runs one at a time
    concurrent_streams: ClassVar[bool] = False
    #: tasks whose catalog models this task can also run (text-classification runs sentiment models)
    accepts_models_of: ClassVar[tuple[str, ...]] = ()
    #: valid inputs (dicts or bare values) used by docs, the conformance test and benchmarks
    example_inputs: ClassVar[tuple] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Derive ``capabilities`` from the protocols; a named task must implement what it declares."""
        super().__init_subclass__(**kwargs)
        if "capabilities" in cls.__dict__:
            raise TaskContractError(f"{cls.__qualname__} sets capabilities; they are derived from its protocols",
                                    hint="remove it and add Trainable, Evaluable, Streaming… to its bases")
        cls.capabilities = capabilities_of(cls)
        name = getattr(cls, "name", None)
        if name:  # a class without a name is a shared base (e.g. of the tabular tasks), checked in its subclasses
            check_declarations(cls, name)

    @classmethod
    def runs_models_of(cls, task: str) -> bool:
        """Whether a catalog model made for ``task`` can be run by this task."""
        return task == cls.name or task in cls.accepts_models_of

    @classmethod
    def examples(cls) -> list:
        """At least two valid inputs; media tasks override this to build their media in code."""
        return list(cls.example_inputs)

    def __init__(self) -> None:
        self.model: ResolvedModel | None = None
        self.device = "cpu"

    # -- the contract -----------------------------------------------------
    def setup(self, model: ResolvedModel, device: str = "cpu") -> None:
        """Load weights from ``model.path``. Called once, before the first batch."""
        self.model = model
        self.device = device

    def preprocess(self, items: list[In]) -> Any:
        return items

    def _forward(self, batch: Any) -> Any:
        raise NotImplementedError

    def postprocess(self, raw: Any, items: list[In]) -> list[Out]:
        return raw

    # -- shared machinery ----------------------------------------------------
    def __call__(self, items: list[In]) -> list[Out]:
        """Run a batch: list in, list of the same length out (checked)."""
        if not items:
            return []
        outputs = self.postprocess(self._forward(self.preprocess(items)), items)
        if len(outputs) != len(items):
            raise RuntimeError(f"task {self.name!r} returned {len(outputs)} outputs for {len(items)} inputs")
        return outputs

    @classmethod
    def coerce(cls, value: Any, *, allow_paths: bool = False, field: str = "inputs") -> In:
        """Turn a bare value, a dict or an ``Input`` into a validated ``Input``.

        ``allow_paths`` lets the Python API and the CLI pass local file paths for
        media fields (they are read here, once); the HTTP server never sets it.
        """
        if isinstance(value, cls.Input):
            data = value.model_dump()
        elif isinstance(value, dict):
            data = dict(value)
        elif isinstance(value, (str, bytes, bytearray, Path)):
            data = {cls.primary_field: value}
        else:
            raise BadInput(
                f"{field}: expected a string or an object with field {cls.primary_field!r}, got {type(value).__name__}"
            )
        for name, kind in cls.media_fields.items():
            v = data.get(name)
            if allow_paths and isinstance(v, (str, Path)):
                from .media import media_bytes  # reads a path (size-checked) or base64; names a file that is not there

                data[name] = media_bytes(v, kind=kind, field=name, allow_paths=True)
        try:
            return cls.Input.model_validate(data)
        except ValidationError as exc:
            raise BadInput(_describe(exc, field)) from None

    @classmethod
    def info(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "aliases": list(cls.aliases),
            "description": cls.description,
            "default_model": cls.default_model,
            "capabilities": sorted(cls.capabilities),
            "input_schema": cls.Input.model_json_schema(),
            "output_schema": cls.Output.model_json_schema(),
        }


def _describe(exc: ValidationError, field: str) -> str:
    """The first five errors, each with where it is: ``inputs[0].text: String should have at least 1 character``
    (or ``data.csv: record 3: text: …`` when ``field`` is a description rather than a path)."""
    parts = []
    for err in exc.errors()[:5]:
        if not err["loc"]:
            where = field
        elif _PATH.fullmatch(field):
            where = field_path([field, *err["loc"]])
        else:
            where = f"{field}: {field_path(err['loc'])}"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


_PATH = re.compile(r"[\w.\[\]]+")


__all__ = ["In", "Out", "Progress", "Task", "TaskInput", "TaskOutput"]  # Progress: trainers import it from here
