"""What the CLI modules share: consoles, tables, JSON output, the error exit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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


def read_inputs(values: list[str], file: Path | None) -> list:
    """`modelbay run`'s inputs: the arguments, then the lines of a JSONL file."""
    items: list = list(values)
    if file is not None:
        if not file.is_file():
            raise typer.BadParameter(f"no such file: {file}", param_hint="--file")
        for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise typer.BadParameter(f"{file}:{n}: not valid JSON ({exc.msg})", param_hint="--file") from None
    if not items:
        raise typer.BadParameter("give at least one input, or --file inputs.jsonl", param_hint="INPUTS")
    return items


def parse_params(params: list[str]) -> dict:
    """``--param key=value`` options; values are JSON where they parse as JSON (3, true, [1,2]), else text."""
    out = {}
    for p in params:
        key, sep, value = p.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected key=value, got {p!r}", param_hint="--param")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run_with_bars(pipe, items: list, batch_size: int) -> list:
    """Run the items with a progress bar: items done, or for a task that reports its own progress (a video)
    how far each item got (seconds of video)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from .core.protocols import ReportsProgress

    if not issubclass(pipe.task_cls, ReportsProgress):
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeRemainingColumn(), console=err_console, transient=True, disable=len(items) <= batch_size) as bar:
            job = bar.add_task(pipe.task_cls.name, total=len(items))
            return pipe.run(items, batch_size, on_batch=lambda n: bar.advance(job, n))
    outputs = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[shown]}"),
                  TimeRemainingColumn(), console=err_console, transient=True) as bar:
        for item in items:
            job = bar.add_task(pipe.task_cls.name, total=None, shown="")
            for event, output in pipe.task.run_with_progress(item):
                if event is not None:
                    stage, done, total = event
                    bar.update(job, description=f"{pipe.task_cls.name}: {stage}", completed=done, total=total or None,
                               shown=f"{done:g}/{total:g}" if total else f"{done:g}")
                else:
                    outputs.append(output)
            bar.remove_task(job)
    return outputs
