"""Tables in databases: ``--data sqlite:///events.db?table=events`` and ``postgresql://…?query=SELECT …``.

A data source is a file path or a database URL. A URL is SQLAlchemy's, plus one of two parameters
that say what to read, which are taken off before it is opened:

* ``table=NAME`` — every row of one table (or view), ``schema.name`` allowed;
* ``query=SQL`` — the rows of one ``SELECT`` (URL-encode it: ``%20`` for spaces, ``%3D`` for ``=``).

``sqlite:///events.db`` is a file relative to the working directory and ``sqlite:////srv/events.db``
an absolute one; ``postgresql://user:password@host:5432/shop`` or, over a Unix socket,
``postgresql:///shop?host=/var/run/postgresql`` (psycopg 3 is the driver). Rows are read in chunks
of ``CHUNK_ROWS``, with a progress callback. In a server job (``data/roots.py``), a SQLite file must
lie in the data folders like any file, and database servers are refused: a client must not make the
server connect wherever it likes.

>>> is_database_url("sqlite:///events.db?table=events"), is_database_url("events.csv")
(True, False)
>>> read_frame("sqlite:///shop.db?table=orders").columns.tolist()        # doctest: +SKIP
['order_id', 'user_id', 'item_id', 'ts']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..core.errors import BadInput
from .roots import check_readable, confined, detail, names

#: URL schemes read as databases (a SQLAlchemy dialect, optionally "+driver")
SCHEMES = ("sqlite", "postgresql", "postgres")
#: rows fetched per round trip
CHUNK_ROWS = 50_000
_HINT = ("give a database URL with ?table=NAME or ?query=SELECT…, e.g. sqlite:///events.db?table=events or "
         "postgresql://user@localhost:5432/shop?query=SELECT%20*%20FROM%20orders")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
#: on_rows(rows read so far, total rows or None)
RowsCallback = Callable[[int, int | None], None]


def is_database_url(source: str | Path) -> bool:
    """True when ``source`` names a database (``sqlite:``, ``postgresql:``…) rather than a file."""
    scheme = str(source).split(":", 1)[0].lower() if ":" in str(source) else ""
    return scheme.split("+", 1)[0] in SCHEMES


def data_source(data: str | Path) -> str | Path:
    """What ``fit`` and ``load_data`` get for ``--data``: the URL as given, or the file's ``Path`` (``~`` expanded).

    >>> data_source("sqlite:///events.db?table=events"), data_source("~/x.csv").name
    ('sqlite:///events.db?table=events', 'x.csv')
    """
    return str(data) if is_database_url(data) else Path(data).expanduser()


def split_database_url(url: str) -> tuple[str, str, str]:
    """``(connection URL, "table" or "query", table name or SQL)``; the connection URL names its driver.

    >>> split_database_url("postgresql://me@db:5432/shop?table=public.orders&sslmode=disable")
    ('postgresql+psycopg://me@db:5432/shop?sslmode=disable', 'table', 'public.orders')
    """
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    chosen = [(k, v) for k, v in params if k in ("table", "query")]
    if len(chosen) != 1 or not chosen[0][1].strip():
        raise BadInput(f"database URL {_safe(url)}: say what to read with exactly one of ?table= or ?query=", hint=_HINT)
    kind, what = chosen[0][0], chosen[0][1].strip()
    if kind == "table" and not _NAME.match(what):
        raise BadInput(f"database URL: table {what!r} is not a plain table name (letters, digits, _; schema.table allowed)",
                       hint="use ?query=SELECT… for anything else")
    if kind == "query" and not what.lower().startswith(("select", "with")):
        raise BadInput("database URL: ?query= must be one SELECT (or WITH … SELECT) statement", hint=_HINT)
    scheme = parts.scheme.lower()
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    rest = urlencode([(k, v) for k, v in params if k not in ("table", "query")])
    return urlunsplit((scheme, parts.netloc, parts.path, rest, "")), kind, what


def read_frame(source: str | Path, *, columns: list[str] | None = None, on_rows: RowsCallback | None = None):
    """A ``pandas.DataFrame`` from a table file (CSV, TSV, JSONL, JSON, Parquet) or a database URL.

    ``columns``: the columns that must be there (a missing one is a ``BadInput`` naming it and the
    columns present). Files are read by ``files.read_file_table``, so they are read and checked the
    same way as every other table.
    """
    import pandas as pd

    if is_database_url(source):
        frame = read_database(str(source), on_rows=on_rows)
    else:
        from .files import read_file_table

        frame = pd.DataFrame([row for _, row in read_file_table(source)])
    missing = [c for c in columns or [] if c not in frame.columns]
    if missing:
        raise BadInput(f"{_safe(str(source))}: no column {missing[0]!r}; {names(frame.columns, 'columns present')}",
                       hint="name the right column, or rename it in the table or query")
    return frame


def read_database(url: str, *, on_rows: RowsCallback | None = None):
    """Every row a database URL names, as a ``pandas.DataFrame``, read ``CHUNK_ROWS`` at a time."""
    import pandas as pd
    import sqlalchemy as sa

    engine = _engine(url)
    _, kind, what = split_database_url(url)
    sql = f"SELECT * FROM {_quoted(engine, what)}" if kind == "table" else what.rstrip().rstrip(";")
    try:
        with engine.connect() as conn:
            total = _row_count(conn, sql)
            chunks, done = [], 0
            for chunk in pd.read_sql_query(sa.text(sql), conn, chunksize=CHUNK_ROWS):
                chunks.append(chunk)
                done += len(chunk)
                if on_rows:
                    on_rows(done, total)
    except sa.exc.SQLAlchemyError as exc:
        raise _database_error(url, kind, what, exc) from None
    finally:
        engine.dispose()
    if not chunks or done == 0:
        raise BadInput(f"database URL {_safe(url)}: the {kind} holds no rows")
    return pd.concat(chunks, ignore_index=True)


def rows_from_database(url: str) -> list[tuple[int, dict[str, Any]]]:
    """``read_table``'s ``(row number, row)`` pairs from a database URL (row numbers count from 1)."""
    frame = read_database(url)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return list(enumerate(records, 1))


def _engine(url: str):
    import sqlalchemy as sa

    connect_url, _, _ = split_database_url(url)
    if connect_url.startswith("sqlite"):
        # sqlite:///rel.db, sqlite:////abs.db: the path is what follows the third slash
        file = url.split("://", 1)[1].split("?", 1)[0].removeprefix("/")
        if not file or file == ":memory:":
            raise BadInput(f"database URL {_safe(url)}: no database file", hint="sqlite:///events.db?table=events")
        check_readable(file)
        if not Path(file).is_file():
            raise BadInput(f"no such SQLite database file: {file}", hint="check the path: sqlite:///relative.db or sqlite:////absolute.db")
        # read-only, so a mistyped URL can never create or change a database
        connect_url = f"sqlite:///file:{Path(file).absolute()}?mode=ro&uri=true"
    elif confined():
        raise BadInput("a server training job reads no database servers, only files in its data folders",
                       hint="train from the CLI (modelbay train … --data postgresql://…), or export the table to a file")
    try:
        return sa.create_engine(connect_url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise BadInput(f"database URL {_safe(url)}: {detail(exc)}", hint=_HINT) from None


def _row_count(conn, sql: str) -> int | None:
    import sqlalchemy as sa

    try:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM ({sql}) AS counted")).scalar_one())
    except sa.exc.SQLAlchemyError:
        conn.rollback()
        raise


def _quoted(engine, name: str) -> str:
    preparer = engine.dialect.identifier_preparer
    return ".".join(preparer.quote(part) for part in name.split("."))


def _database_error(url: str, kind: str, what: str, exc: Exception) -> BadInput:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    if kind == "table" and ("no such table" in lowered or ("does not exist" in lowered and "relation" in lowered)):
        return BadInput(f"database {_safe(url)}: no table {what!r}", hint="check the name (and schema); ?table=NAME")
    if "connect" in lowered or "connection" in lowered or "authentication" in lowered or "password" in lowered:
        return BadInput(f"database {_safe(url)}: cannot connect ({detail(exc) if confined() else text})",
                        hint="check the host, port, database name, user and password, and that the server runs")
    return BadInput(f"database {_safe(url)}: the {kind} failed ({'query error' if confined() else text})",
                    hint="check the table or the SELECT in the URL")


def _safe(url: str) -> str:
    """The URL without its parameters and with its password replaced by ***, so no message or log shows it.

    >>> _safe("postgresql://me:hunter2@db/shop?table=orders")
    'postgresql://me:***@db/shop'
    """
    return re.sub(r"^([^:/]+://[^:/@]*):[^@/]*@", r"\1:***@", url.split("?", 1)[0])


__all__ = ["CHUNK_ROWS", "data_source", "is_database_url", "read_database", "read_frame", "rows_from_database", "split_database_url"]
