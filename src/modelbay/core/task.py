"""The task contract: every capability is one small ``Task`` subclass.

A task declares typed ``Input``/``Output`` models and implements
``setup`` / ``preprocess`` / ``_forward`` / ``postprocess``. Everything else —
pipeline(), the CLI, the HTTP server, batching — works on this contract and
never special-cases a task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import BadInput

if TYPE_CHECKING:
    from .catalog import ResolvedModel

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)
#: how ``fit`` reports progress: False (silent), True (Rich bars) or a callback (stage, done, total)
Progress = bool | Callable[[str, int, int], None]


class TaskInput(BaseModel):
    """Base for request items: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class TaskOutput(BaseModel):
    def summary(self) -> str:
        """One human-readable line for the CLI; tasks override it."""
        return self.model_dump_json()


class Task(Generic[In, Out]):
    """Base class of every task.

    Subclasses set the class attributes and implement ``setup`` and ``_forward``
    (and usually ``preprocess``/``postprocess``). Constructors only store
    configuration; ``setup`` loads the model.
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
    #: what the task supports besides ``run``: "stream", "train", "eval"
    capabilities: ClassVar[frozenset[str]] = frozenset({"run"})
    #: whether ``_forward`` gains from receiving many items at once
    batchable: ClassVar[bool] = True
    #: tasks whose catalog models this task can also run (text-classification runs sentiment models)
    accepts_models_of: ClassVar[tuple[str, ...]] = ()
    #: valid inputs (dicts or bare values) used by docs, the conformance test and benchmarks
    example_inputs: ClassVar[tuple] = ()
    #: how ``modelbay eval`` scores the task: a family of ``modelbay.ml.metrics``
    #: ("classification", "ner", "speech", "translation", "summarization", "language-model",
    #: "ranking", "regression", "forecast"); ``None``: the task cannot be evaluated yet
    metric_family: ClassVar[str | None] = None
    #: field of a labelled record that holds the truth (every other field is the task's input);
    #: the output attribute of the same name is the prediction (see ``prediction``)
    target_field: ClassVar[str] = "label"

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

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Read labelled records for ``fit`` and ``modelbay eval``: dicts with the Input's fields plus ``target_field``.

        Tasks that train or evaluate override it (tables: ``modelbay.data.loaders.read_labelled_table``;
        NER's CoNLL; image folders). Errors name the file and the bad row.
        """
        raise BadInput(f"task {cls.name!r} reads no labelled data: it cannot be trained or evaluated",
                       hint="`modelbay tasks` shows what each task supports")

    def prediction(self, output: Out) -> Any:
        """The part of an output that ``modelbay eval`` compares with a record's ``target_field``."""
        return getattr(output, self.target_field)

    def eval_predictions(self, records: list[dict[str, Any]]) -> list[Any]:
        """Predictions for records whose score is not what ``run`` returns (tasks that override this).

        A language model is scored by the likelihood it gives the record's text, not by a reply it
        generates: ``chat`` returns per-token log-likelihoods here. The evaluator calls this, instead
        of running the inputs, whenever a task overrides it.
        """
        raise NotImplementedError

    @classmethod
    def fit(cls, data: Path, out_dir: Path, options: dict[str, Any], progress: Progress = False, *,
            name: str = "model") -> dict[str, Any]:
        """Train a model called ``name`` for this task on ``data`` into ``out_dir`` (tasks with "train").

        ``progress`` is ``False`` (silent), ``True`` (Rich bars on the terminal) or a callback
        ``(stage, done, total)`` (the server's training jobs); ``modelbay.ml.progress.reporter``
        turns any of them into one object. Returns the model card (also written as
        ``out_dir/model_card.json``) with at least ``task``, ``options`` (the catalog options that
        load it, e.g. its backend) and ``metrics``.
        """
        raise BadInput(f"task {cls.name!r} cannot be trained yet", hint="`modelbay tasks` shows which tasks support train")

    def stream(self, item: In) -> Iterator[str]:
        """Yield output pieces as they are produced (tasks with the "stream" capability)."""
        raise BadInput(f"task {self.name!r} does not stream", hint="call it without streaming")

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
            raise BadInput(f"{field}: {_describe(exc)}") from None

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


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return "; ".join(parts)
