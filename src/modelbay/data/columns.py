"""Typed tables for tree models (tabular training and evaluation, risk scoring): CSV/TSV (pyarrow.csv), JSONL/JSON (line by line), Parquet.

Columns come back typed: a float64 array for numbers and booleans (missing = NaN) or an object array
of strings (missing = None) for everything else. Errors name the file and the row; in a server job they
quote nothing from the file, not even column names (see ``modelbay.data.roots``).

Format detection and JSON/JSONL parsing are ``modelbay.data.loaders``'; what this adds is typing
whole columns (pyarrow for CSV/TSV/Parquet), which tree models need and record readers do not.

>>> table = read_columns(Path("churn.csv"))                        # doctest: +SKIP
>>> features, label_col = select_columns(table, {"drop_cols": ["customer_id"]})   # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from . import roots
from .column_codes import category_key

DEFAULT_LABEL_COLS = ("label", "target")


@dataclass
class Table:
    path: Path
    columns: dict[str, Any]          # name -> float64 ndarray or object ndarray of str | None
    n_rows: int
    where: Callable[[int], str]      # row index -> "line 7" / "row 7", for messages

    def is_numeric(self, name: str) -> bool:
        return self.columns[name].dtype.kind == "f"


def read_columns(path: Path | str, fmt: str | None = None) -> Table:
    """Read a whole table; ``fmt`` (csv, tsv, jsonl, json, parquet) overrides the file suffix.

    ``path`` may also be a database URL (``sqlite:///loans.db?table=loans``: ``modelbay.data.databases``).
    """
    from .databases import is_database_url
    from .loaders import table_format

    if is_database_url(path):
        import pyarrow as pa

        from .databases import read_frame

        arrow = pa.Table.from_pandas(read_frame(str(path)), preserve_index=False)
        return _from_arrow(str(path), arrow, lambda i: f"row {i + 1}")
    path = roots.check_readable(path)
    if not path.is_file():
        raise BadInput(f"no such data file: {path}" if not path.exists() else f"{path} is a folder; expected one table file",
                       hint="pass a .csv, .tsv, .jsonl, .json or .parquet file")
    fmt = table_format(path, fmt)
    if fmt in ("csv", "tsv"):
        return _read_csv(path, "\t" if fmt == "tsv" else ",")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            arrow = pq.read_table(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
            raise BadInput(f"{path}: not a readable Parquet file ({roots.detail(exc)})") from None
        return _from_arrow(path, arrow, lambda i: f"row {i + 1}")
    return _read_json(path, lines=fmt == "jsonl")


def _read_csv(path: Path, delimiter: str) -> Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        arrow = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter),
                               convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    except pa.ArrowInvalid as exc:
        raise BadInput(f"{path}: {_locate_csv_problem(path, delimiter, str(exc))}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    return _from_arrow(path, arrow, lambda i: f"line {i + 2}")


def _locate_csv_problem(path: Path, delimiter: str, message: str) -> str:
    """pyarrow says what is wrong but not where; find the line with the csv module (only on error).

    pyarrow's message quotes the offending row or value, so a server job gets only the line, the
    column's number and the problem.
    """
    import csv

    bad_column = re.search(r"column #(\d+).*invalid value '([^']*)'", message)
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader, [])
            for row in reader:
                if len(row) != len(header):
                    return (f"line {reader.line_num}: {len(row)} fields, the header has {len(header)}"
                            + ("" if roots.confined() else f" ({message})"))
                if bad_column:
                    j = int(bad_column.group(1))
                    if j < len(row) and row[j] == bad_column.group(2):
                        column = f"column {j + 1}" if roots.confined() else f"column {header[j]!r}"
                        return (f"line {reader.line_num}: {column} mixes numbers and text{roots.shown(row[j])}; "
                                "fix the value, or leave it empty for a missing value")
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return "not a table pyarrow can read" if roots.confined() else message


def _from_arrow(path: Path, arrow, where: Callable[[int], str]) -> Table:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    names = arrow.column_names
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BadInput(f"{path}: {roots.names(dupes, 'duplicate column name(s)')}", hint="give every column its own name")
    columns: dict[str, Any] = {}
    for name, col in zip(names, arrow.columns):
        kind = col.type
        if pa.types.is_null(kind):
            columns[name] = np.full(len(col), np.nan)
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind) or pa.types.is_boolean(kind):
            floats = pc.cast(col, pa.float64()).fill_null(float("nan"))
            columns[name] = np.asarray(floats.to_numpy(), dtype=np.float64)
        else:
            try:
                columns[name] = np.array(pc.cast(col, pa.string()).to_pylist(), dtype=object)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                column = f"column {names.index(name) + 1}" if roots.confined() else f"column {name!r}"
                raise BadInput(f"{path}: {column} holds {kind} values; expected numbers or text") from None
    return Table(path, columns, arrow.num_rows, where)


def _read_json(path: Path, *, lines: bool) -> Table:
    import numpy as np

    from .loaders import read_table

    rows = [(f"line {n}" if lines else f"item {n}", obj) for n, obj in read_table(path, "jsonl" if lines else "json")]
    names: dict[str, None] = {}
    for label, obj in rows:
        if not isinstance(obj, dict):
            raise BadInput(f"{path}: {label}: expected an object of column values, got {type(obj).__name__}")
        for key, value in obj.items():
            if isinstance(value, (dict, list)):
                raise BadInput(f"{path}: {label}: column{roots.shown(key)} holds a {type(value).__name__}; "
                               "expected a number or text")
            names.setdefault(key)
    columns: dict[str, Any] = {}
    for name in names:
        values = [obj.get(name) for _, obj in rows]
        if all(v is None or isinstance(v, (int, float)) for v in values):  # bool is an int
            columns[name] = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        else:
            columns[name] = np.array([category_key(v) for v in values], dtype=object)
    labels = [label for label, _ in rows]
    return Table(path, columns, len(rows), lambda i: labels[i])


def as_list(value: Any) -> list[str]:
    """An option that is one column name or a list of them (``--param drop_cols=id``)."""
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def select_columns(table: Table, options: dict[str, Any]) -> tuple[list[str], str]:
    """(feature columns, label column) from ``label_col``, ``feature_cols`` and ``drop_cols``."""
    columns = list(table.columns)
    shown = roots.names(columns, "columns")
    label_col = options.get("label_col") or next((c for c in DEFAULT_LABEL_COLS if c in table.columns), None)
    if label_col is None:
        raise BadInput(f"{table.path}: no 'label' or 'target' column ({shown})",
                       hint="name the column to predict with label_col (--label-col)")
    drop, chosen = as_list(options.get("drop_cols")), as_list(options.get("feature_cols"))
    for option, wanted in (("label_col", [label_col]), ("drop_cols", drop), ("feature_cols", chosen)):
        missing = [n for n in wanted if n not in table.columns]
        if missing:  # the caller's own names: safe to repeat
            raise BadInput(f"{table.path}: {option} names column(s) {missing} that the table lacks ({shown})")
    if label_col in chosen:
        raise BadInput(f"feature_cols includes the label column {label_col!r}")
    features = chosen or [c for c in columns if c != label_col and c not in drop]
    if not features:
        raise BadInput(f"{table.path}: no feature columns left besides the label {label_col!r}")
    return features, label_col


def label_values(table: Table, label_col: str, kind: str) -> list:
    """The label column as strings (classification) or floats (regression); a missing or bad value names its row."""
    import math

    col = table.columns[label_col]
    out: list = []
    for i, value in enumerate(col):
        if kind == "classification":
            key = category_key(value)
            if key is None or key == "":
                raise BadInput(f"{table.path}: {table.where(i)}: no value in label column {label_col!r}")
            out.append(key)
            continue
        try:
            number = float(value) if value is not None else math.nan
        except ValueError:
            raise BadInput(f"{table.path}: {table.where(i)}: label column {label_col!r} holds {roots.shown(value).lstrip() or 'text'}; "
                           "regression needs numbers") from None
        if math.isnan(number):
            raise BadInput(f"{table.path}: {table.where(i)}: no value in label column {label_col!r}")
        out.append(number)
    return out


def load_records(path: Path, options: dict[str, Any], kind: str, target_field: str) -> list[dict[str, Any]]:
    """Rows as task records ``{"features": {column: value}, target_field: label}`` (``modelbay eval``)."""
    import math

    table = read_columns(path, options.get("format"))
    features, label_col = select_columns(table, options)
    targets = label_values(table, label_col, kind)
    cols = [(name, table.columns[name]) for name in features]
    records = []
    for i, target in enumerate(targets):
        row = {}
        for name, col in cols:
            v = col[i]
            row[name] = None if (v is None or (isinstance(v, float) and math.isnan(v))) else (v if isinstance(v, str) else float(v))
        records.append({"features": row, target_field: target})
    return records
