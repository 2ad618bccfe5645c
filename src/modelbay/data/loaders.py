"""Labelled tables for training and evaluation: read and check.

* ``read_table(source)`` — a table file (CSV, TSV, JSONL/NDJSON, JSON list, Parquet: ``files.py``)
  or a database URL (``sqlite:///events.db?table=events``, ``postgresql://…?query=…``:
  ``databases.py``) into ``(where, row)`` pairs: ``where`` is the file's line number for the text
  formats and the 1-based record or row number otherwise.
* ``read_labelled_table(source, input_field=..., target_field=...)`` — the records a task's
  ``load_data`` returns: the chosen columns renamed to the task's fields; every error names the
  file and the bad line or record, and shows the columns present, except in a server job, where
  errors quote nothing from the file (``data/roots.py``).
* ``read_frame(source)`` — the same sources as a ``pandas.DataFrame`` (``databases.py``).

Splitting (``split_records``, ``validation_warnings``) is in ``modelbay.ml.splits`` and the data
fingerprint in ``modelbay.ml.fingerprint``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from .databases import is_database_url, read_frame, rows_from_database
from .files import FORMATS, read_file_table, table_format
from .files import where as _file_where
from .roots import check_readable, confined, names


def read_table(source: str | Path, fmt: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    """Read a table file or a database URL into ``(line_or_record_number, row)`` pairs; blank lines are skipped.

    >>> read_table("examples.csv")[0]    # doctest: +SKIP
    (2, {'text': 'great!', 'label': 'positive'})
    """
    if is_database_url(source):
        return rows_from_database(str(source))
    return read_file_table(source, fmt)


def _where(source: str | Path, fmt: str, n: int) -> str:
    return f"{source} row {n}" if fmt == "database" else _file_where(Path(source), fmt, n)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_texts(value: Any) -> str | list[str] | None:
    """A cell's text stripped, or a list cell's non-empty texts; None when there is none (an empty reference answer).

    >>> cell_texts(" 5 days "), cell_texts(["a", "", None]), cell_texts([None]), cell_texts("  ")
    ('5 days', ['a'], None, None)
    """
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()] or None
    return str(value).strip() if value is not None and str(value).strip() else None


def read_labelled_table(path: str | Path, *, input_field: str, target_field: str, input_col: str | None = None,
                        target_col: str | None = None, fmt: str | None = None,
                        path_fields: Sequence[str] = (), target_optional: bool = False) -> list[dict[str, Any]]:
    """Records with ``input_field`` and ``target_field`` (renamed from ``input_col``/``target_col``) and the other columns.

    With ``target_optional`` the target column may be absent or empty: such records have no ``target_field``.

    ``path_fields`` hold file paths (audio, images): relative ones are resolved against the
    table's folder and each must exist.

    >>> read_labelled_table("reviews.csv", input_field="text", target_field="label",
    ...                     input_col="review", target_col="stars")[0]          # doctest: +SKIP
    {'text': 'Great phone', 'label': '5', 'id': '17'}
    """
    fmt = "database" if is_database_url(path) else table_format(path, fmt)
    path = str(path) if fmt == "database" else Path(path)
    rows = read_table(path, fmt)
    columns = {input_field: input_col or input_field, target_field: target_col or target_field}
    hint = "choose the columns with --text-col/--label-col (text_col/label_col options)"
    if fmt in ("csv", "tsv", "parquet", "database"):  # one header for all rows: name it rather than the first row
        present = list(rows[0][1])
        for field, col in columns.items():
            if col not in present and not (target_optional and field == target_field):
                where = f"{path}:1" if fmt in ("csv", "tsv") else str(path)
                raise BadInput(f"{where}: no column {col!r}; {names(present, 'columns present')}", hint=hint)
    records = []
    for n, row in rows:
        rec = {k: v for k, v in row.items() if k not in columns.values()}
        for field, col in columns.items():
            if target_optional and field == target_field and _is_empty(row.get(col)):
                continue
            if col not in row:
                raise BadInput(f"{_where(path, fmt, n)}: missing field {col!r}; {names(sorted(row), 'fields present')}", hint=hint)
            if _is_empty(row[col]):
                raise BadInput(f"{_where(path, fmt, n)}: empty value in column {col!r}; {names(sorted(row), 'fields present')}")
            rec[field] = row[col]
        for field in path_fields:
            if isinstance(rec.get(field), str):  # a database's paths are relative to the working directory
                table = Path.cwd() / "table" if fmt == "database" else path
                rec[field] = _existing_path(table, rec[field], _where(path, fmt, n), field)
        records.append(rec)
    return records


def _existing_path(table: Path, value: str, where: str, field: str) -> str:
    p = Path(value).expanduser()
    if not p.is_absolute():
        p = table.parent / p
    # the path is the table's content: a server job checks it but does not quote it
    check_readable(p, what=f"{where}: the {field} file", quote_path=False)
    if not p.is_file():
        found = "not found" if confined() else f"{value!r} not found (looked at {p})"
        raise BadInput(f"{where}: {field} file {found}", hint="paths are relative to the folder of the data file")
    return str(p)


__all__ = ["FORMATS", "cell_texts", "read_frame", "read_labelled_table", "read_table", "table_format"]
