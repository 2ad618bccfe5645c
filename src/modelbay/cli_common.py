"""What the CLI modules share: consoles, tables, JSON output, the error exit."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

# Piped output is not squeezed into 80 columns: wide tables stay one row per item.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True)


def fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)


def new_table(*columns: str) -> Table:
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
