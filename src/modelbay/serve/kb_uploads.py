"""Documents uploaded to a knowledge base: read from the form into a staging folder, then swapped into
``<kb>/uploads/`` only for as long as ingestion succeeds.

The knowledge base cites the kept copy of each document and re-reads it when a file of the same name comes
again. Writing an upload straight over that copy meant a rejected one (an unreadable PDF, a binary file
named ``.md``) destroyed the document already indexed under its name, and left itself on disk. Now a
failed ingestion removes the new files and puts the old ones back, and errors name the file as uploaded
(``faq.pdf``), not its path on the server.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import anyio
from fastapi import Request

from ..core.errors import BadInput, ModelbayError
from .job_uploads import safe_filename

MAX_UPLOAD_FILES = 64
T = TypeVar("T")
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


async def save_uploads(request: Request, kb_folder: Path) -> list[Path]:
    """The form's files, written to a new staging folder under ``kb_folder`` (a file name given twice: the last)."""
    try:
        form = await request.form(max_files=MAX_UPLOAD_FILES, max_fields=0)
    except Exception as exc:  # noqa: BLE001 - Starlette/python-multipart raise their own errors for a bad body
        raise BadInput(f"not a readable multipart/form-data body ({type(exc).__name__})",
                       hint="send the documents as files: curl -F file=@faq.csv -F file=@manual.pdf") from None
    uploads = [v for _, v in form.multi_items() if not isinstance(v, str)]
    if not uploads:
        raise BadInput("no file in the form", hint="attach documents as file fields: curl -F file=@faq.csv")
    staging = kb_folder / "incoming" / uuid.uuid4().hex
    staging.mkdir(parents=True)
    paths: list[Path] = []
    try:
        for upload in uploads:
            path = staging / safe_filename(upload.filename or "document.txt")
            await anyio.to_thread.run_sync(_copy, upload.file, path)
            paths.append(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return list(dict.fromkeys(paths))


def _copy(source, path: Path) -> None:
    with open(path, "wb") as out:
        shutil.copyfileobj(source, out)


def ingest_staged(staged: list[Path], uploads: Path, add: Callable[[list[Path]], T]) -> T:
    """``add(paths)`` on the staged files moved into ``uploads``; on any error the folder is as it was before."""
    with _lock(uploads), _swapped_in(staged, uploads) as paths:
        try:
            return add(paths)
        except ModelbayError as exc:
            exc.message = _as_uploaded(exc.message, uploads)
            exc.args = (exc.message if not exc.hint else f"{exc.message} ({exc.hint})",)
            raise


def _lock(uploads: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(uploads.resolve(), threading.Lock())


@contextmanager
def _swapped_in(staged: list[Path], uploads: Path) -> Iterator[list[Path]]:
    staging = staged[0].parent
    aside = staging / "replaced"
    aside.mkdir()
    uploads.mkdir(parents=True, exist_ok=True)
    moved: list[tuple[Path, Path | None]] = []
    try:
        for path in staged:
            target, kept = uploads / path.name, None
            if target.exists():
                kept = aside / path.name
                target.replace(kept)
            moved.append((target, kept))
            path.replace(target)
        yield [target for target, _ in moved]
    except BaseException:
        for target, kept in reversed(moved):
            target.unlink(missing_ok=True)
            if kept is not None:
                kept.replace(target)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _as_uploaded(message: str, uploads: Path) -> str:
    """``/srv/…/kb/shop/uploads/faq.pdf: not a readable PDF`` → ``faq.pdf: not a readable PDF``."""
    for folder in {str(uploads), str(uploads.resolve())}:
        message = message.replace(folder.rstrip("/") + "/", "")
    return message
