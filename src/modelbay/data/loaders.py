"""Labelled tables for training and evaluation: read, check, split, fingerprint.

* ``read_table(path)`` — CSV, TSV, JSONL/NDJSON, JSON (a list of objects) or Parquet into
  ``(where, row)`` pairs: ``where`` is the file's line number for the text formats and the
  1-based record number for JSON lists and Parquet.
* ``read_labelled_table(path, input_field=..., target_field=...)`` — the records a task's
  ``load_data`` returns: the chosen columns renamed to the task's fields; every error names the
  file, the bad line or record and the columns present.
* ``split_records`` — a deterministic (stratified) train/validation/test split.
* ``fingerprint`` — sha256 of a file, a folder or a list of records (model cards, eval reports).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..core.errors import BadInput

#: extension -> format name
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
           ".parquet": "parquet", ".pq": "parquet"}
_HINT_FORMATS = "use a .csv, .tsv, .jsonl, .json (a list of objects) or .parquet file"


def _where(path: Path, fmt: str, n: int) -> str:
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


def read_table(path: str | Path, fmt: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    """Read a table into ``(line_or_record_number, row)`` pairs; blank lines are skipped.

    >>> read_table("examples.csv")[0]    # doctest: +SKIP
    (2, {'text': 'great!', 'label': 'positive'})
    """
    path = Path(path)
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
                               f"{len(reader.fieldnames or [])} columns {reader.fieldnames}",
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
        raise BadInput(f"{path}: not a readable Parquet file ({exc})") from None
    return list(enumerate(table.to_pylist(), 1))


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_labelled_table(path: str | Path, *, input_field: str, target_field: str, input_col: str | None = None,
                        target_col: str | None = None, fmt: str | None = None,
                        path_fields: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Records with ``input_field`` and ``target_field`` (renamed from ``input_col``/``target_col``) and the other columns.

    ``path_fields`` hold file paths (audio, images): relative ones are resolved against the
    table's folder and each must exist.

    >>> read_labelled_table("reviews.csv", input_field="text", target_field="label",
    ...                     input_col="review", target_col="stars")[0]          # doctest: +SKIP
    {'text': 'Great phone', 'label': '5', 'id': '17'}
    """
    path = Path(path)
    fmt = table_format(path, fmt)
    rows = read_table(path, fmt)
    columns = {input_field: input_col or input_field, target_field: target_col or target_field}
    hint = "choose the columns with --text-col/--label-col (text_col/label_col options)"
    if fmt in ("csv", "tsv", "parquet"):  # one header for all rows: name it rather than the first row
        present = list(rows[0][1])
        for col in dict.fromkeys(columns.values()):
            if col not in present:
                where = f"{path}:1" if fmt != "parquet" else str(path)
                raise BadInput(f"{where}: no column {col!r}; columns present: {present}", hint=hint)
    records = []
    for n, row in rows:
        rec = {k: v for k, v in row.items() if k not in columns.values()}
        for field, col in columns.items():
            if col not in row:
                raise BadInput(f"{_where(path, fmt, n)}: missing field {col!r}; fields present: {sorted(row)}", hint=hint)
            if _is_empty(row[col]):
                raise BadInput(f"{_where(path, fmt, n)}: empty value in column {col!r}; fields present: {sorted(row)}")
            rec[field] = row[col]
        for field in path_fields:
            if isinstance(rec.get(field), str):
                rec[field] = _existing_path(path, rec[field], _where(path, fmt, n), field)
        records.append(rec)
    return records


def _existing_path(table: Path, value: str, where: str, field: str) -> str:
    p = Path(value).expanduser()
    if not p.is_absolute():
        p = table.parent / p
    if not p.is_file():
        raise BadInput(f"{where}: {field} file {value!r} not found (looked at {p})",
                       hint="paths are relative to the folder of the data file")
    return str(p)


def split_records(records: Sequence[dict], fractions: float | Sequence[float] = (0.8, 0.1, 0.1), *, seed: int = 0,
                  stratify_field: str | None = None) -> tuple[list[dict], ...]:
    """Split records deterministically: ``(train, val, test)`` for three fractions, ``(train, val)`` for a float.

    With ``stratify_field`` every value of that field is split in the same proportions. Order
    within each part is the input order.

    >>> recs = [{"i": i, "y": "ab"[i % 2]} for i in range(10)]
    >>> train, val = split_records(recs, 0.2, seed=1, stratify_field="y")
    >>> len(train), len(val), sorted(r["y"] for r in val)
    (8, 2, ['a', 'b'])
    """
    import numpy as np

    fracs = [1.0 - float(fractions), float(fractions)] if isinstance(fractions, (int, float)) else [float(f) for f in fractions]
    if len(fracs) < 2 or any(f < 0 for f in fracs) or abs(sum(fracs) - 1.0) > 1e-6 or not 0 < fracs[0]:
        raise BadInput(f"fractions must be a val fraction in (0, 1) or non-negative parts summing to 1, got {fractions!r}")
    groups: dict[str, list[int]] = {}
    for i, rec in enumerate(records):
        if stratify_field is None:
            key = ""
        elif not isinstance(rec, dict) or rec.get(stratify_field) is None:
            raise BadInput(f"record {i}: no {stratify_field!r} to stratify on")
        else:
            key = json.dumps(rec[stratify_field], sort_keys=True, default=str)
        groups.setdefault(key, []).append(i)
    rng = np.random.default_rng(seed)
    bounds = np.cumsum(fracs)
    parts: list[list[int]] = [[] for _ in fracs]
    for key in sorted(groups):
        idx = np.array(groups[key])
        rng.shuffle(idx)
        cuts = [0, *(round(b * len(idx)) for b in bounds[:-1]), len(idx)]
        for k in range(len(fracs)):
            parts[k].extend(idx[cuts[k]:cuts[k + 1]].tolist())
    # tiny data: a part that should have records but got none takes one from the largest part
    for k, f in enumerate(fracs):
        if f > 0 and not parts[k] and len(records) >= len(fracs):
            donor = max(range(len(parts)), key=lambda j: len(parts[j]))
            parts[k].append(parts[donor].pop(int(rng.integers(len(parts[donor])))))
    return tuple([records[i] for i in sorted(p)] for p in parts)


def fingerprint(data: str | Path | Iterable[dict]) -> str:
    """sha256 hex of the data: a file's bytes; a folder's sorted relative paths with their bytes; or records as JSON.

    >>> fingerprint([{"text": "a", "label": "x"}])[:12]
    'b4ca334b4acd'
    """
    digest = hashlib.sha256()
    if isinstance(data, (str, Path)):
        path = Path(data)
        if path.is_file():
            _hash_file(digest, path)
        elif path.is_dir():
            for file in sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).as_posix()):
                rel = file.relative_to(path).as_posix()
                digest.update(f"{rel}\0{file.stat().st_size}\0".encode())
                _hash_file(digest, file)
        else:
            raise BadInput(f"no such file or folder: {path}")
        return digest.hexdigest()
    for rec in data:
        digest.update(json.dumps(rec, sort_keys=True, ensure_ascii=False, default=_json_default).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _hash_file(digest, path: Path, chunk_bytes: int = 1 << 20) -> None:
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return hashlib.sha256(value).hexdigest()
    return str(value)
