"""Training data uploaded with the job (``multipart/form-data``), so clients need no path on the server.

The form has ``task``, ``name``, ``options`` (a JSON object, as text) and one ``file``: a table, a CoNLL
file… or a ``.zip`` of a folder (image classes, several NER files), which is extracted safely: no
absolute paths, no ``..``, no links or devices, at most ``jobs.upload_max_files`` members and
``jobs.upload_max_unzipped_bytes`` bytes counted as they are written (a zip's own sizes can lie).
Each job's upload lives in its own folder, ``<uploads_dir>/<job id>/``, deleted when the job ends.

>>> stored = store_upload(Upload("photos.zip", open("photos.zip", "rb")), Path("/tmp/up/job_1"), config)  # doctest: +SKIP
>>> stored.data                                                                         # doctest: +SKIP
PosixPath('/tmp/up/job_1/photos')
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from ..core.errors import BadInput, PayloadTooLarge
from .config import JobsConfig
from .job_models import TrainJobFields

#: form fields besides ``file``
FORM_FIELDS = ("task", "name", "options")
_COPY_CHUNK_BYTES = 1 << 20
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class BadUpload(BadInput):
    code = "bad_upload"


@dataclass
class Upload:
    filename: str
    file: IO[bytes]


@dataclass
class StoredUpload:
    folder: Path     # the job's own folder: the trainer may read nothing else, and it is deleted when the job ends
    data: Path       # what the trainer reads: the file, or the folder the archive held
    filename: str    # the client's file name, made safe


async def read_upload_form(request) -> tuple[TrainJobFields, Upload]:
    """The job's fields and its file from a multipart request; 422 naming what is missing or wrong."""
    try:
        form = await request.form(max_files=1, max_fields=len(FORM_FIELDS))
    except Exception as exc:  # noqa: BLE001 - Starlette raises its own and python-multipart's errors for a bad body
        raise BadUpload(f"not a readable multipart/form-data body ({type(exc).__name__})",
                        hint="send task, name, options (a JSON object) and one file, e.g. curl -F task=… -F file=@data.csv") from None
    unknown = sorted(set(form) - {*FORM_FIELDS, "file"})
    if unknown:
        raise BadUpload(f"unknown form field(s) {unknown}; an upload takes {', '.join(FORM_FIELDS)} and file",
                        hint="'data' names a server path and is sent as JSON, without a file")
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise BadUpload("file: the form has no file", hint="attach the data as a file field: curl -F file=@data.csv")
    fields: dict[str, Any] = {k: form[k] for k in FORM_FIELDS if isinstance(form.get(k), str)}
    if "options" in fields:
        try:
            fields["options"] = json.loads(fields["options"] or "{}")
        except ValueError as exc:
            raise BadUpload(f"options: not valid JSON ({exc})", hint='e.g. -F \'options={"label_col": "intent"}\'') from None
    try:
        return TrainJobFields.model_validate(fields), Upload(upload.filename or "data", upload.file)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise BadUpload(problems) from None


def safe_filename(name: str) -> str:
    """The client's file name reduced to ``[A-Za-z0-9._-]`` without a leading dot, keeping its extension.

    >>> safe_filename("../../My Data (v2).CSV")
    'My_Data_v2_.CSV'
    """
    cleaned = _UNSAFE_CHARS.sub("_", Path(name.replace("\\", "/")).name).lstrip("._")
    if len(cleaned) > 100:  # keep the extension: it tells the loader the format
        suffix = Path(cleaned).suffix[:12]
        cleaned = cleaned[:100 - len(suffix)] + suffix
    return cleaned or "data"


def store_upload(upload: Upload, folder: Path, config: JobsConfig) -> StoredUpload:
    """Save (and for ``.zip``, extract) the upload into ``folder``; on any error the folder is removed."""
    filename = safe_filename(upload.filename)
    folder.mkdir(parents=True, mode=0o700)
    try:
        target = folder / filename
        with open(target, "xb") as out:
            shutil.copyfileobj(upload.file, out, _COPY_CHUNK_BYTES)
        if target.suffix.lower() != ".zip":
            return StoredUpload(folder, target, filename)
        extracted = folder / "data"
        extract_zip(target, extracted, max_files=config.upload_max_files, max_bytes=config.upload_max_unzipped_bytes,
                    shown=filename)
        target.unlink()
        return StoredUpload(folder, _data_root(extracted, filename), filename)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def extract_zip(archive: Path, into: Path, *, max_files: int, max_bytes: int, shown: str = "the archive") -> None:
    """Extract ``archive`` into ``into``, refusing unsafe members (422) and archives over the caps (413)."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise BadUpload(f"{shown}: not a readable .zip archive") from None
    with zf:
        members = zf.infolist()
        if len(members) > max_files:
            raise PayloadTooLarge(f"{shown}: {len(members)} files, more than the {max_files} an upload may hold",
                                  hint="the server's jobs.upload_max_files sets the limit")
        into.mkdir()
        written = 0
        for member in members:
            parts = _member_parts(member, shown)
            if not parts:
                continue
            target = into.joinpath(*parts)
            try:
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "xb") as dst:
                    while chunk := src.read(_COPY_CHUNK_BYTES):
                        written += len(chunk)
                        if written > max_bytes:
                            raise PayloadTooLarge(f"{shown}: extracts to more than {max_bytes} bytes",
                                                  hint="the server's jobs.upload_max_unzipped_bytes sets the limit")
                        dst.write(chunk)
            except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
                # duplicate or clashing names, encrypted members, unsupported compression, a damaged archive
                raise BadUpload(f"{shown}: cannot extract {member.filename!r} ({type(exc).__name__})") from None


def _member_parts(member: zipfile.ZipInfo, shown: str) -> list[str]:
    """The member's path parts, [] to skip it (macOS metadata), or BadUpload for anything unsafe."""
    name = member.filename.replace("\\", "/")
    mode = member.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        raise BadUpload(f"{shown}: {member.filename!r} is a link or a device, not a file",
                        hint="archive the files themselves (zip without --symlinks)")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise BadUpload(f"{shown}: {member.filename!r} is an absolute path", hint="archive paths relative to the folder")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BadUpload(f"{shown}: {member.filename!r} climbs out of the archive with '..'",
                        hint="archive paths relative to the folder")
    return [] if parts[:1] == ["__MACOSX"] else parts


def _data_root(folder: Path, shown: str) -> Path:
    """What the archive holds: a lone top folder (``photos/cat/…``) or a lone file is the data; else the folder."""
    current = folder
    while True:
        entries = [p for p in current.iterdir() if not p.name.startswith(".")]
        if not entries:
            raise BadUpload(f"{shown}: the archive holds no files")
        if len(entries) > 1 or not entries[0].is_dir():
            return entries[0] if len(entries) == 1 else current
        current = entries[0]


__all__ = ["BadUpload", "StoredUpload", "Upload", "extract_zip", "read_upload_form", "safe_filename", "store_upload"]
