"""Table files: CSV, TSV, JSONL/NDJSON, JSON (a list of objects) and Parquet, read into ``(where, row)`` pairs.

``where`` is the file's line number for the text formats and the 1-based record number for JSON
lists and Parquet. ``modelbay.data.loaders.read_table`` reads files through here and database URLs
through ``databases.py``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from .roots import check_readable, detail, shown

#: extension -> format name
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
           ".parquet": "parquet", ".pq": "parquet"}
_HINT_FORMATS = "use a .csv, .tsv, .jsonl, .json (a list of objects) or .parquet file"


def where(path: Path, fmt: str, n: int) -> str:
    return f"{path}:{n}" if fmt in ("csv", "tsv", "jsonl") else f"{path} record {n}"


def table_format(path: str | Path, fmt: str | None = None) -> str:
    """The format of a table file, from ``fmt`` (``"csv"``, ``"jsonl"``…) or else its extension.

    >>> table_format("data/train.ndjson")
    'jsonl'
    """
    if fmt:
        fmt = fmt.lower().lstrip(".")
        known = sorted(set(FORMATS.values()))
        if fmt not in known:
            raise BadInput(f"unknown table format {fmt!r}; known: {', '.join(known)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise BadInput(f"{path}: unsupported file type {suffix or '(no extension)'!r}", hint=_HINT_FORMATS)
    return FORMATS[suffix]


def read_file_table(path: str | Path, fmt: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    """Read a table into ``(line_or_record_number, row)`` pairs; blank lines are skipped.

    >>> read_file_table("examples.csv")[0]    # doctest: +SKIP
    (2, {'text': 'great!', 'label': 'positive'})
    """
    path = check_readable(path)
    if not path.is_file():
        raise BadInput(f"no such data file: {path}", hint=_HINT_FORMATS)
    fmt = table_format(path, fmt)
    if fmt == "parquet":
        rows = _read_parquet(path)
    else:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadInput(f"{path}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8") from None
        rows = {"csv": _read_delimited, "tsv": _read_delimited, "jsonl": _read_jsonl, "json": _read_json}[fmt](path, text, fmt)
    if not rows:
        raise BadInput(f"{path}: the file holds no records", hint="a header row (CSV/TSV) and at least one data row are needed")
    return rows


def _read_delimited(path: Path, text: str, fmt: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter="\t" if fmt == "tsv" else ",")
    rows = []
    try:
        for row in reader:
            if None in row:  # more cells than header names
                raise BadInput(f"{path}:{reader.line_num}: {len(row) - 1 + len(row[None])} cells for "
                               f"{len(reader.fieldnames or [])} columns{shown(reader.fieldnames, 200)}",
                               hint="quote cells that contain the delimiter")
            rows.append((reader.line_num, {k: ("" if v is None else v) for k, v in row.items()}))
    except csv.Error as exc:
        raise BadInput(f"{path}:{reader.line_num}: not valid {fmt.upper()} ({exc})") from None
    return rows


def _read_jsonl(path: Path, text: str, fmt: str) -> list[tuple[int, dict]]:
    rows = []
    # split on "\n" only: str.splitlines would also break at U+2028, which JSON strings may hold
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{n}: not valid JSON ({exc.msg} at column {exc.colno})",
                           hint="each line must be one JSON object") from None
        if not isinstance(obj, dict):
            raise BadInput(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
        rows.append((n, obj))
    return rows


def _read_json(path: Path, text: str, fmt: str) -> list[tuple[int, dict]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        data = next(iter(data.values()))  # {"data": [...]}, a common wrapper
    if not isinstance(data, list):
        raise BadInput(f"{path}: expected a JSON list of objects, got {type(data).__name__}",
                       hint="use JSONL for one object per line")
    for n, obj in enumerate(data, 1):
        if not isinstance(obj, dict):
            raise BadInput(f"{path} record {n}: expected a JSON object, got {type(obj).__name__}")
    return list(enumerate(data, 1))


def _read_parquet(path: Path) -> list[tuple[int, dict]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged or non-Parquet file
        raise BadInput(f"{path}: not a readable Parquet file ({detail(exc)})") from None
    return list(enumerate(table.to_pylist(), 1))



__all__ = ["FORMATS", "read_file_table", "table_format", "where"]
