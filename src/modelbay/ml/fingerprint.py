"""The one dataset fingerprint: sha256 of a data file, a folder, or a list of records (model cards, eval reports).

>>> records_fingerprint([{"text": "a", "label": "x"}])[:12]
'b4ca334b4acd'
>>> data_fingerprint([{"text": "a", "label": "x"}])["n_records"]
1
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core.catalog.hashing import sha256_file
from ..core.errors import BadInput

__all__ = ["data_fingerprint", "file_sha256", "fingerprint", "legacy_text_label_sha256", "records_fingerprint"]


def file_sha256(path: str | Path) -> str:
    """sha256 hex of a file's bytes; of a folder, over its files' sorted relative paths, sizes and bytes.

    A folder's hash does not depend on the order its files were written in, but on their names.
    """
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    if not path.is_dir():
        raise BadInput(f"no such file or folder: {path}")
    digest = hashlib.sha256()
    for file in sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).as_posix()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{file.stat().st_size}\0".encode())
        with open(file, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def records_fingerprint(records: Iterable[dict]) -> str:
    """sha256 hex of the records as canonical JSON lines (keys sorted, UTF-8), in their order.

    Order counts: the split (and so the model) depends on it. Bytes values enter as their sha256,
    other non-JSON values (paths, dates) as ``str``.
    """
    digest = hashlib.sha256()
    for rec in records:
        digest.update(json.dumps(rec, sort_keys=True, ensure_ascii=False, default=_json_default).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def fingerprint(data: str | Path | Iterable[dict]) -> str:
    """:func:`file_sha256` of a path, :func:`records_fingerprint` of anything else.

    >>> fingerprint([{"text": "a", "label": "x"}]) == records_fingerprint([{"label": "x", "text": "a"}])
    True
    """
    return file_sha256(data) if isinstance(data, (str, Path)) else records_fingerprint(data)


def data_fingerprint(data: str | Path | Iterable[dict]) -> dict[str, Any]:
    """What a model card records of its data: ``{"file", "sha256"}`` for a path, ``{"n_records", "sha256"}`` for records.

    >>> data_fingerprint([{"text": "a", "label": "x"}, {"text": "b", "label": "y"}])["n_records"]
    2
    """
    if isinstance(data, str) and re.match(r"^[a-z][a-z0-9+]*://", data):
        # a database table (modelbay.data.databases) changes under its URL: record where it came from;
        # trainers that have the rows add their records_fingerprint
        return {"database": re.sub(r"://[^:/@]*:[^@/]*@", "://***@", data), "sha256": None}
    if isinstance(data, (str, Path)):
        return {"file": str(data), "sha256": file_sha256(data)}
    records = list(data)
    return {"n_records": len(records), "sha256": records_fingerprint(records)}


def legacy_text_label_sha256(records: Iterable[dict]) -> str:
    """The ``data.sha256`` of text-classification cards written before :func:`records_fingerprint` was the one.

    sha256 over the sorted ``label\\ttext`` lines. Only for checking such cards (the packaged
    sentiment-e5-mlp's; scripts/sentiment_cross_domain.py), never for new ones.
    """
    digest = hashlib.sha256()
    for text, label in sorted((str(r["text"]), str(r["label"])) for r in records):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return hashlib.sha256(value).hexdigest()
    return str(value)
