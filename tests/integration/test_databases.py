"""``--data`` from databases: SQLite files and a real PostgreSQL server, read in chunks, with errors that name the problem."""

from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelbay.core.errors import BadInput
from modelbay.data import databases
from modelbay.data.loaders import read_frame, read_labelled_table, read_table
from modelbay.data.roots import DataOutsideRoots

#: two monthly series, five years each: enough for forecasting's backtest
SERIES = {"north": [100 + 10 * math.sin(2 * math.pi * m / 12) + m for m in range(60)],
          "south": [50 + 5 * math.cos(2 * math.pi * m / 12) + 0.5 * m for m in range(60)]}
ROWS = [(key, f"{2015 + m // 12}-{m % 12 + 1:02d}-01", round(y, 3)) for key, ys in SERIES.items() for m, y in enumerate(ys)]


@pytest.fixture
def sqlite_db(tmp_path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sales (store TEXT, month TEXT, units REAL)")
        conn.executemany("INSERT INTO sales VALUES (?, ?, ?)", ROWS)
    return path


@pytest.fixture(scope="module")
def pg_sales(postgres_url) -> str:
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        conn.execute("DROP TABLE IF EXISTS sales")
        conn.execute("CREATE TABLE sales (store TEXT, month DATE, units DOUBLE PRECISION)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO sales VALUES (%s, %s, %s)", ROWS)
    return postgres_url


def test_sqlite_table_and_query_read_every_row_in_chunks(sqlite_db, monkeypatch):
    monkeypatch.setattr(databases, "CHUNK_ROWS", 25)
    seen = []
    frame = read_frame(f"sqlite:///{sqlite_db}?table=sales", on_rows=lambda done, total: seen.append((done, total)))
    assert len(frame) == len(ROWS) and list(frame.columns) == ["store", "month", "units"]
    assert seen[0] == (25, 120) and seen[-1] == (120, 120) and len(seen) == 5
    rows = read_table(f"sqlite:///{sqlite_db}?query=SELECT%20store,%20SUM(units)%20AS%20total%20FROM%20sales%20GROUP%20BY%20store")
    assert sorted(r["store"] for _, r in rows) == ["north", "south"]
    assert [n for n, _ in rows] == [1, 2]


def test_relative_sqlite_path_is_taken_from_the_working_directory(sqlite_db, monkeypatch):
    monkeypatch.chdir(sqlite_db.parent)
    records = read_labelled_table("sqlite:///shop.db?table=sales", input_field="text", target_field="label",
                                  input_col="store", target_col="units")
    assert len(records) == 120 and records[0]["text"] == "north" and "month" in records[0]


@pytest.mark.parametrize(("query", "says"), [
    ("table=nope", "no table 'nope'"),
    ("", "exactly one of ?table= or ?query="),
    ("table=sales;drop", "not a plain table name"),
    ("query=DELETE%20FROM%20sales", "must be one SELECT"),
    ("query=SELECT%20nope%20FROM%20sales", "the query failed"),
])
def test_bad_sqlite_urls_say_what_is_wrong(sqlite_db, query, says):
    with pytest.raises(BadInput, match=re.escape(says)):
        read_table(f"sqlite:///{sqlite_db}?{query}")


def test_missing_file_and_missing_column_are_named(sqlite_db):
    with pytest.raises(BadInput, match="no such SQLite database file"):
        read_table(f"sqlite:///{sqlite_db.parent / 'other.db'}?table=sales")
    assert not (sqlite_db.parent / "other.db").exists()  # read-only: a typo creates no database
    with pytest.raises(BadInput, match="no column 'price'.*'units'"):
        read_frame(f"sqlite:///{sqlite_db}?table=sales", columns=["store", "price"])


def test_a_server_job_reads_sqlite_only_inside_its_data_folders_and_no_database_server(sqlite_db, monkeypatch, tmp_path):
    from modelbay.core.settings import get_settings

    monkeypatch.setenv("MODELBAY_DATA_CONFINED", "1")
    monkeypatch.setenv("MODELBAY_DATA_DIRS", str(tmp_path / "allowed"))
    get_settings.cache_clear()
    try:
        with pytest.raises(DataOutsideRoots):
            read_table(f"sqlite:///{sqlite_db}?table=sales")
        with pytest.raises(BadInput, match="reads no database servers"):
            read_table("postgresql://someone@127.0.0.1:5432/shop?table=sales")
    finally:
        get_settings.cache_clear()


def test_postgresql_rows_arrive_with_their_types(pg_sales):
    frame = read_frame(f"{pg_sales}?table=public.sales")
    assert len(frame) == 120 and frame["units"].dtype.kind == "f"
    rows = read_table(f"{pg_sales}?query=SELECT%20*%20FROM%20sales%20WHERE%20store%20%3D%20'south'")
    assert len(rows) == 60 and {r["store"] for _, r in rows} == {"south"}


@pytest.mark.parametrize(("url", "says"), [
    ("{url}?table=missing", "no table 'missing'"),
    ("{url}?query=SELECT%20price%20FROM%20sales", "the query failed"),
    ("postgresql://modelbay:secret@127.0.0.1:1/modelbay?table=sales", "cannot connect"),
])
def test_postgresql_errors_name_the_problem_and_hide_the_password(pg_sales, url, says):
    with pytest.raises(BadInput, match=says) as caught:
        read_table(url.format(url=pg_sales))
    assert "secret" not in str(caught.value)


def test_train_and_eval_forecasting_from_postgresql_on_the_cli(pg_sales, fresh_settings, tmp_path):
    from modelbay.cli import app

    runner = CliRunner()
    data = f"{pg_sales}?query=SELECT%20*%20FROM%20sales%20WHERE%20month%20%3C%20'2019-07-01'"
    args = ["--param", "id_col=store", "--param", "ds_col=month", "--param", "y_col=units", "--param", "horizon=6"]
    trained = runner.invoke(app, ["train", "forecasting", "--data", data, "--name", "sales-pg", *args, "--json"])
    assert trained.exit_code == 0, trained.output
    assert '"database": "postgresql://modelbay@127.0.0.1' in trained.output
    evaluated = runner.invoke(app, ["eval", "sales-pg", "--data", f"{pg_sales}?table=sales", *args, "--no-report",
                                    "--bootstrap", "0", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert '"n": 2' in evaluated.output


def test_the_cli_names_a_missing_table_without_a_traceback(sqlite_db, fresh_settings):
    from modelbay.cli import app

    result = CliRunner().invoke(app, ["train", "forecasting", "--data", f"sqlite:///{sqlite_db}?table=nope", "--name", "x"])
    assert result.exit_code != 0 and "no table 'nope'" in result.output and "Traceback" not in result.output


def test_tabular_trains_from_a_postgresql_table(postgres_url, fresh_settings):
    import psycopg
    from sklearn.datasets import load_breast_cancer

    from modelbay.train.publish import train_to_store

    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, -1]]
    with psycopg.connect(postgres_url) as conn:
        conn.execute("DROP TABLE IF EXISTS tumours")
        conn.execute("CREATE TABLE tumours (radius REAL, texture REAL, perimeter REAL, area REAL, malignant TEXT)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO tumours VALUES (%s, %s, %s, %s, %s)",
                            [(*map(float, r[:4]), "no" if r[4] else "yes") for r in frame.itertuples(index=False)])
    artifact = train_to_store("tabular-classification", "tumours", f"{postgres_url}?table=tumours", {"label_col": "malignant"})
    assert artifact.card["data"]["n_rows"] == len(frame) and artifact.card["data"]["sha256"] is None
    assert artifact.card["metrics"]["validation"]["accuracy"] > 0.8
