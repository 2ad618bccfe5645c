"""What the CLI modules share: consoles, tables, JSON output, the error exit."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Piped output is not squeezed into 80 columns: wide tables stay one row per item.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True)


def fail(exc: Exception) -> None:
    """Print ``error: <message>`` on stderr and exit 2.

    The message is printed as it is: no Rich markup read from it (``[...]`` in a path or a
    list of columns stays), and no line breaks added at the console's width, so a path in it
    can be copied or grepped whole.
    """
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    raise typer.Exit(2)


def new_table(*columns: str) -> Table:
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
