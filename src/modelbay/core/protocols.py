"""What a task supports beyond ``run``, declared one way: by the protocols its class inherits.

    class Ner(Task[NerInput, NerOutput], Trainable, Evaluable): ...

``Task.capabilities`` is derived from them (``run`` plus ``train``, ``eval``, ``stream``,
``similarity``, ``events``, ``render``, ``progress``), so ``modelbay tasks``, ``GET /v1/tasks``, the CLI, the server, the trainer and the
evaluator read one declaration and cannot disagree. The other protocols are hooks a route or the
evaluator calls (``Generating``, ``ScoresRecords``, ``Labelled``, ``TokenCounting``, ``Encoding``):
no capability lists them, but they are declared, never guessed from a task's backend.

When a task class is created, :func:`check_declarations` makes the two sides agree: a task that
declares a protocol implements its abstract members, and a task with a protocol's member declares
the protocol. A mismatch fails the import with a :class:`TaskContractError` naming the fix.
"""

from __future__ import annotations

import inspect
from abc import abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from .errors import ModelbayError

#: how ``fit`` reports progress: False (silent), True (Rich bars) or a callback (stage, done, total)
Progress = bool | Callable[[str, int, int], None]


class TaskContractError(ModelbayError):
    """A task class whose declared protocols and implemented members disagree (a bug in the task's code)."""

    code = "task_contract"


class LabelledData:
    """Reads labelled records; the base of ``Trainable`` and ``Evaluable``."""

    #: field of a labelled record that holds the truth (every other field is the task's input)
    target_field: ClassVar[str] = "label"

    @classmethod
    @abstractmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Labelled records for ``fit`` and ``modelbay eval``: dicts of the Input's fields plus ``target_field``.

        Tables: ``modelbay.data.loaders.read_labelled_table``; NER reads CoNLL, images folders.
        Errors name the file and the bad row.
        """
        raise NotImplementedError


class Trainable(LabelledData):
    """``modelbay train``, ``POST /v1/jobs``: the task trains a model of its own from labelled data."""

    @classmethod
    @abstractmethod
    def fit(cls, data: Path, out_dir: Path, options: dict[str, Any], progress: Progress = False, *,
            name: str = "model") -> dict[str, Any]:
        """Train a model called ``name`` on ``data`` into ``out_dir``; return its model card.

        ``progress`` is ``False``, ``True`` (Rich bars) or a callback ``(stage, done, total)``
        (``modelbay.ml.progress.reporter`` turns any of them into one object). The card (also
        written as ``out_dir/model_card.json``) has at least ``task``, ``options`` (the catalog
        options that load the model, e.g. its backend) and ``metrics``.
        """
        raise NotImplementedError


class Evaluable(LabelledData):
    """``modelbay eval``: the task's outputs are scored against labelled records."""

    #: a family of ``modelbay.ml.metrics`` ("classification", "ner", "speech", "language-model",
    #: "regression", …); required
    metric_family: ClassVar[str | None] = None

    def prediction(self, output: Any) -> Any:
        """The part of an output compared with a record's ``target_field`` (default: the attribute of that name)."""
        return getattr(output, self.target_field)


class ScoresRecords(Evaluable):
    """Evaluated on the records themselves instead of on what ``run`` returns for their inputs."""

    @abstractmethod
    def eval_predictions(self, records: list[dict[str, Any]]) -> list[Any]:
        """Predictions for a batch of records; ``chat`` gives each text's per-token log-likelihoods (perplexity)."""
        raise NotImplementedError


class Labelled:
    """A classifier whose loaded model has a fixed set of labels."""

    @property
    @abstractmethod
    def labels(self) -> list[str] | None:
        """The loaded model's labels in its order; the evaluator checks a data set's labels against them.

        ``None``: too many to score as a set (ImageNet's 1000); the labels found in the data are used.
        """
        raise NotImplementedError


class Streaming:
    """``--stream`` and ``"stream": true``: the output comes in pieces as it is produced."""

    @abstractmethod
    def stream(self, item: Any) -> Iterator[str]:
        """Yield pieces of one item's output; closing the iterator stops the work."""
        raise NotImplementedError


class Generating(Streaming):
    """A stream that ends with the whole output (finish reason, usage): OpenAI-style streams need it."""

    @abstractmethod
    def generate(self, item: Any) -> Iterator[tuple[str, Any]]:
        """Yield ``(piece, None)`` as pieces come, then ``(last piece, Output)``."""
        raise NotImplementedError


class Similarity:
    """``--similarity``: a pairwise similarity matrix of outputs."""

    @staticmethod
    @abstractmethod
    def similarity(outputs: list) -> list[list[float]]:
        """An ``n × n`` matrix of the outputs' similarities."""
        raise NotImplementedError


class TokenCounting:
    """The loaded model can say how many tokens it reads (``usage`` of ``/v1/embeddings``)."""

    @abstractmethod
    def count_tokens(self, texts: list[str]) -> int | None:
        """Tokens the model reads for ``texts``, after its own truncation; ``None`` when it cannot tell."""
        raise NotImplementedError


class Encoding:
    """Texts to vectors, for other tasks (a text classifier's embedding head)."""

    @abstractmethod
    def encode(self, texts: list[str], kinds: list[str] | None = None) -> Any:
        """An ``(n, dim)`` float32 array, one row per text; ``kinds``: "query" or "passage" per text."""
        raise NotImplementedError


class DriftReporting:
    """``modelbay eval --drift``: how far a batch of inputs has moved from the data the model was trained on."""

    @classmethod
    @abstractmethod
    def load_unlabelled(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Records of a (live) table: the Input's fields, plus ``target_field`` only where the table has it."""
        raise NotImplementedError

    @abstractmethod
    def drift_report(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Drift of ``records`` (``load_unlabelled``'s) per input feature against the model's training data.

        At least ``method``, ``max`` (the largest feature's value), ``bands`` and ``features``: one
        ``{"feature", "value", "band"}`` per feature, largest first.
        """
        raise NotImplementedError


class RecordsEvents:
    """``POST /v1/events``: the task stores interaction events (views, clicks, purchases) durably."""

    @abstractmethod
    def record_events(self, events: list[dict[str, Any]]) -> int:
        """Validate and store ``events`` before returning (committed); returns how many were stored.

        A bad event is a ``BadInput`` naming its index and field, and then none of the batch is stored.
        """
        raise NotImplementedError


class Rendering:
    """``--render`` and ``"render": true``: a picture of an output people can look at (boxes, masks, text).

    The CLI writes it to a file, the server returns it base64-encoded beside the JSON outputs, and
    ``pipeline(task).render(item, output)`` gives the bytes.
    """

    #: what ``render`` returns: "image/png" for pictures, "video/mp4" for annotated video
    render_media_type: ClassVar[str] = "image/png"

    @abstractmethod
    def render(self, item: Any, output: Any) -> bytes:
        """The item's media with ``output`` drawn on it, encoded as ``render_media_type`` (``modelbay.ml.vision.draw``)."""
        raise NotImplementedError


#: how far one long item got: ``(stage, done, total)``, e.g. ``("video", 12.0, 60.0)`` seconds of video
ProgressEvent = tuple[str, float, float]


class ReportsProgress:
    """One item may take long (a whole video): the CLI shows a bar, ``"stream": true`` sends progress events."""

    @abstractmethod
    def run_with_progress(self, item: Any) -> Iterator[tuple[ProgressEvent | None, Any]]:
        """Yield ``((stage, done, total), None)`` as the work goes, then ``(None, Output)``.

        Closing the iterator early stops the work (the client went away).
        """
        raise NotImplementedError


class Declared(NamedTuple):
    #: the word ``modelbay tasks`` shows, or None for a hook no user asks for by name
    capability: str | None
    #: members the protocol introduces: a task that has one of them must declare the protocol
    members: tuple[str, ...]
    #: what to write in the error when a task has a member without the protocol
    fix: str


PROTOCOLS: dict[type, Declared] = {
    LabelledData: Declared(None, ("load_data",), "declare Trainable or Evaluable"),
    Trainable: Declared("train", ("fit",), "declare Trainable"),
    Evaluable: Declared("eval", ("metric_family", "prediction"), "declare Evaluable"),
    ScoresRecords: Declared(None, ("eval_predictions",), "declare ScoresRecords"),
    Labelled: Declared(None, ("labels",), "declare Labelled"),
    Streaming: Declared("stream", ("stream",), "declare Streaming"),
    Generating: Declared(None, ("generate",), "declare Generating"),
    Similarity: Declared("similarity", ("similarity",), "declare Similarity"),
    TokenCounting: Declared(None, ("count_tokens",), "declare TokenCounting"),
    Encoding: Declared(None, ("encode",), "declare Encoding"),
    RecordsEvents: Declared("events", ("record_events",), "declare RecordsEvents"),
    DriftReporting: Declared(None, ("drift_report", "load_unlabelled"), "declare DriftReporting"),
    Rendering: Declared("render", ("render",), "declare Rendering"),
    ReportsProgress: Declared("progress", ("run_with_progress",), "declare ReportsProgress"),
}


def capabilities_of(cls: type) -> frozenset[str]:
    """``run`` plus the capability of every protocol ``cls`` declares.

    >>> sorted(capabilities_of(type("T", (Trainable, Generating), {})))
    ['run', 'stream', 'train']
    """
    return frozenset({"run"} | {d.capability for p, d in PROTOCOLS.items() if d.capability and issubclass(cls, p)})


def check_declarations(cls: type, name: str) -> None:
    """Raise :class:`TaskContractError` unless ``cls`` implements what it declares and declares what it implements."""
    for protocol in (k for k in cls.__mro__ if k in PROTOCOLS):  # the most specific first: it names every gap
        missing = [m for m, _ in inspect.getmembers(protocol) if _abstract(cls, m)]
        if missing:
            raise TaskContractError(f"task {name!r} declares {protocol.__name__} but does not implement "
                                    f"{', '.join(missing)}", hint=f"implement it, or drop {protocol.__name__}")
    for protocol, declared in PROTOCOLS.items():
        found = [m for m in declared.members if any(m in k.__dict__ for k in cls.__mro__)]
        if found and not issubclass(cls, protocol):
            raise TaskContractError(f"task {name!r} has {found[0]} but does not declare {protocol.__name__}",
                                    hint=f"{declared.fix} among its bases (modelbay.core.protocols)")
    if issubclass(cls, Evaluable) and not (isinstance(cls.metric_family, str) and cls.metric_family):
        raise TaskContractError(f"task {name!r} is Evaluable but has no metric_family",
                                hint="set metric_family to a family of modelbay.ml.metrics, e.g. 'classification'")


def _abstract(cls: type, member: str) -> bool:
    return getattr(inspect.getattr_static(cls, member, None), "__isabstractmethod__", False)


def token_count(task: Any, texts: list[str]) -> int:
    """Tokens ``task`` reads for ``texts`` where it can tell (``TokenCounting``), else whitespace-separated words.

    >>> token_count(object(), ["two words", "three more words"])
    5
    """
    counted = task.count_tokens(texts) if isinstance(task, TokenCounting) else None
    return counted if counted is not None else sum(len(t.split()) for t in texts)


__all__ = ["PROTOCOLS", "DriftReporting", "Encoding", "Evaluable", "Generating", "Labelled", "LabelledData", "Progress",
           "ProgressEvent", "RecordsEvents", "Rendering", "ReportsProgress", "ScoresRecords", "Similarity", "Streaming", "TaskContractError", "TokenCounting", "Trainable",
           "capabilities_of", "check_declarations", "token_count"]
