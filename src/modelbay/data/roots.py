"""Data roots: which files a server training job may read, and what its data errors may say.

The CLI and the Python API read whatever path they are given: the caller already reads its own disk.
The server's training jobs must not: a client could otherwise name ``/etc/shadow`` and read it back
through an error message or a trained model. So a job's data path must resolve (symlinks followed)
inside one of ``MODELBAY_DATA_DIRS`` (default ``<MODELBAY_HOME>/data``), and the job's process runs
*confined* (``MODELBAY_DATA_CONFINED=1``, set by ``serve/job_manager.py``): every file a loader opens,
including the image or audio files a table names and the files inside a data folder, is checked again,
and data errors name the file, the line or row and the problem, but quote nothing from the data: no
values, lines, tokens, column names, labels or library messages (which may quote the data).
A local caller (CLI, Python API) reads its own files, so its messages still quote what helps fix them.

Any new server-side code that reads data must run confined too.

>>> resolve_in_roots("tickets.csv", [Path("/srv/data")])          # doctest: +SKIP
PosixPath('/srv/data/tickets.csv')
>>> resolve_in_roots("/etc/shadow", [Path("/srv/data")])          # doctest: +SKIP
Traceback (most recent call last):
DataOutsideRoots: data: /etc/shadow is outside the folders this server trains from
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..core.errors import BadInput, ModelbayError

#: how many names a message lists before it says "…"
MAX_NAMES_SHOWN = 30


class DataOutsideRoots(ModelbayError):
    """A training job named data outside the server's data roots (symlinks followed)."""

    status_code = 403
    code = "data_outside_roots"


def resolved_roots(roots: Iterable[str | Path]) -> list[Path]:
    """The roots as absolute paths with symlinks followed (``~`` expanded), in order."""
    return [Path(root).expanduser().resolve() for root in roots]


def resolve_in_roots(path: str | Path, roots: Sequence[str | Path], *, what: str = "data",
                     quote_path: bool = True) -> Path:
    """``path`` resolved (symlinks followed), or DataOutsideRoots if it is not inside one of ``roots``.

    A relative path is taken relative to the first root. Nothing is opened or stat()ed beyond what
    resolving needs, and the answer is the same whether the file exists or not, so a refusal tells
    nothing about the server's disk. ``quote_path=False`` leaves the path out of the message (when
    it was read from the data, e.g. an image path in a table).
    """
    allowed = resolved_roots(roots)
    if not allowed:
        raise DataOutsideRoots(f"{what}: this server has no data folders, so it trains on no server paths",
                               hint="set MODELBAY_DATA_DIRS (or jobs.data_dirs), or upload the data")
    try:
        candidate = Path(path).expanduser()
        if not candidate.is_absolute():
            candidate = allowed[0] / candidate
        resolved = candidate.resolve()
    except (ValueError, OSError) as exc:  # a NUL byte, a loop of links, a name too long
        raise BadInput(f"{what}: not a usable path ({type(exc).__name__})") from None
    if not any(resolved.is_relative_to(root) for root in allowed):
        raise DataOutsideRoots(
            f"{what}{f': {path}' if quote_path else ''} is outside the folders this server trains from ({', '.join(map(str, allowed))})",
            hint="put the data in one of them (set by MODELBAY_DATA_DIRS or jobs.data_dirs; a relative path is "
                 "taken relative to the first), or upload it as multipart/form-data")
    return resolved


def confined() -> bool:
    """True in a server training job's process (``MODELBAY_DATA_CONFINED=1``)."""
    from ..core.settings import get_settings

    return get_settings().data_confined


def check_readable(path: str | Path, *, what: str = "data", quote_path: bool = True) -> Path:
    """``path`` itself, after checking it lies inside ``MODELBAY_DATA_DIRS`` when this process is confined.

    Loaders call it on every file they open; outside a server job it checks nothing.
    """
    if confined():
        from ..core.settings import get_settings

        # relative here means relative to the working directory, as open() takes it
        resolve_in_roots(Path(path).expanduser().absolute(), get_settings().data_dirs, what=what, quote_path=quote_path)
    return Path(path)


def names(values: Iterable[Any], noun: str) -> str:
    """``"columns present: ['a', 'b']"`` for a local caller; ``"2 columns present (…)"`` in a server job.

    >>> names(["text", "label"], "columns present")                  # doctest: +SKIP
    "columns present: ['text', 'label']"
    """
    values = list(values)
    if confined():
        return f"{len(values)} {noun} (names are not shown to a server job)"
    more = " …" if len(values) > MAX_NAMES_SHOWN else ""
    return f"{noun}: {values[:MAX_NAMES_SHOWN]!r}{more}"


def shown(value: Any, max_chars: int = 80) -> str:
    """``" 'value'"`` (with its leading space, cut to ``max_chars``) for a local caller; ``""`` in a server job.

    For messages such as ``f"token 2{shown(token)} is not word/tag"``.
    """
    if confined():
        return ""
    return f" {value[:max_chars]!r}" if isinstance(value, str) else f" {value!r:.{max_chars}}"


def label_counts(counts: dict[str, int], noun: str = "records") -> str:
    """``"{'a': 5, 'b': 1}"`` for a local caller; ``"2 labels, the rarest with 1 records"`` in a server job."""
    if confined():
        return f"{len(counts)} label(s), the rarest with {min(counts.values(), default=0)} {noun}"
    return str(counts)


def detail(exc: BaseException) -> str:
    """A library's own message about the data (it may quote the data) for a local caller; its type in a job."""
    return type(exc).__name__ if confined() else str(exc)


__all__ = ["DataOutsideRoots", "check_readable", "confined", "detail", "label_counts", "names", "resolve_in_roots",
           "resolved_roots", "shown"]
