"""The `modelbay` command. Thin: every command calls library functions tests call too."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from .cli_common import console, err_console, fail, new_table, parse_params, print_json, read_inputs, run_with_bars
from .cli_kb import kb_app
from .cli_keys import keys_app
from .cli_models import models_app

app = typer.Typer(help="modelbay: pretrained AI capabilities, offline first.", no_args_is_help=True, add_completion=False)
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys", help="API keys for the server: create, list, revoke.")
app.add_typer(kb_app, name="kb")


@app.command()
def tasks(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List every task, its aliases, default model and what it supports."""
    from .core.inventory import tasks_table

    rows = tasks_table()
    if as_json:
        return print_json(rows)
    table = new_table("task", "aliases", "default model", "supports")
    for r in rows:
        table.add_row(r["name"], ", ".join(r["aliases"]), r["default_model"], ", ".join(r["capabilities"]))
    console.print(table)


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="task name or alias, e.g. sentiment")],
    inputs: Annotated[list[str] | None, typer.Argument(help="texts, or paths of images/audio")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="JSONL file, one input per line")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="catalog model name")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="input option key=value, e.g. top_k=3")] = None,
    batch_size: Annotated[int, typer.Option(help="items per forward pass")] = 32,
    similarity: Annotated[bool, typer.Option("--similarity", help="print the pairwise similarity matrix (tasks that support it)")] = False,
    stream: Annotated[bool, typer.Option("--stream/--no-stream", help="print output as it is produced")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    render: Annotated[Path | None, typer.Option("--render", help="write pictures of the results: a .png file for one input, else a folder")] = None,
) -> None:
    """Run a task on inputs given inline or in a JSONL file."""
    from .api import Pipeline
    from .core.errors import ModelbayError
    from .core.protocols import Streaming

    try:
        task, model = _task_and_model(task, model)
        pipe = Pipeline(task, model=model)
        _check_flags(pipe.task_cls, similarity=similarity, render=render)  # said before any model loads
        extra = parse_params(param or [])
        raw = read_inputs(inputs or [], file)
        items = [{pipe.task_cls.primary_field: v, **extra} if not isinstance(v, dict) else {**v, **extra} for v in raw]
        items = pipe.coerce(items)  # bad input fails here, before any model loads
        with console.status(f"loading {pipe.model_name}…") if sys.stderr.isatty() else nullcontext():
            pipe.load()
        if stream and not as_json and render is None and issubclass(pipe.task_cls, Streaming) and len(items) == 1:
            for piece in pipe.task.stream(items[0]):
                sys.stdout.write(piece)
                sys.stdout.flush()
            sys.stdout.write("\n")
            return
        outputs = run_with_bars(pipe, items, batch_size)
        if render is not None:
            from .cli_render import write_renders

            for path in write_renders(pipe, items, outputs, raw, render):
                err_console.print(f"rendered: {path}", highlight=False)
    except ModelbayError as exc:
        fail(exc)
    if similarity:
        matrix = pipe.task_cls.similarity(outputs)
        return print_json({"similarity": matrix}) if as_json else _print_matrix(raw, matrix)
    _print_outputs(raw, outputs, as_json)


def _check_flags(task_cls, *, similarity: bool, render: Path | None) -> None:
    """``--similarity`` and ``--render`` only for tasks that declare them, said before any model loads."""
    from .core.errors import BadInput
    from .core.protocols import Rendering, Similarity
    from .core.registry import tasks_with

    if similarity and not issubclass(task_cls, Similarity):
        raise BadInput(f"task {task_cls.name!r} has no similarity",
                       hint=f"--similarity works with {', '.join(tasks_with('similarity'))}")
    if render is not None and not issubclass(task_cls, Rendering):
        raise BadInput(f"task {task_cls.name!r} has nothing to draw",
                       hint=f"--render works with {', '.join(tasks_with('render'))}")


def _print_outputs(raw: list, outputs: list, as_json: bool) -> None:
    if as_json:
        return print_json([o.model_dump(mode="json") for o in outputs])
    from rich.markup import escape

    for value, out in zip(raw, outputs):
        label = escape(value) if isinstance(value, str) and len(value) < 80 else ""
        summary = escape(out.summary())  # model text like "[music]" must print as it is, not as markup
        console.print(f"[bold]{label}[/]\n  {summary}" if label else summary, highlight=False)
    return None


def _task_and_model(task: str, model: str | None) -> tuple[str, str | None]:
    """`modelbay run support-intent "…"`: a model name (a trained one, say) stands for its task with that model."""
    from .core.loading import task_and_model

    return task_and_model(task, model)


def _print_matrix(labels: list, matrix: list[list[float]]) -> None:
    table = new_table("", *[str(i) for i in range(len(matrix))])
    for i, row in enumerate(matrix):
        table.add_row(f"{i}: {str(labels[i])[:40]}", *[f"{v:.3f}" for v in row])
    console.print(table)


@app.command()
def train(
    task: Annotated[str, typer.Argument(help="task to train, e.g. text-classification, ner, image-classification")],
    data: Annotated[str, typer.Option("--data", "-d", help="labelled data: a CSV/TSV/JSONL/Parquet file, a CoNLL or word/tag file, a folder, "
                                                          "or a database table: sqlite:///events.db?table=events, postgresql://…?query=SELECT…")],
    name: Annotated[str, typer.Option("--name", "-n", help="name of the trained model, e.g. support-intent")],
    text_col: Annotated[str | None, typer.Option(help="column/field holding the input (tables)")] = None,
    label_col: Annotated[str | None, typer.Option(help="column/field holding the label (tables)")] = None,
    data_format: Annotated[str | None, typer.Option("--format", help="data format when the file name does not say, e.g. conll, word/tag")] = None,
    language: Annotated[str | None, typer.Option("--language", "-l", help="language of the data, e.g. en, zh")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="training option key=value, e.g. max_epochs=30")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the model card as JSON")] = False,
) -> None:
    """Train a model on your data; it is saved as NAME@<next version> and runs like any catalog model."""
    from .core.errors import ModelbayError
    from .core.protocols import Trainable
    from .core.registry import get_task, tasks_with
    from .data.databases import is_database_url
    from .train.publish import train_to_store

    try:
        cls = get_task(task)
        if not issubclass(cls, Trainable):
            trainable = ", ".join(tasks_with("train"))
            raise typer.BadParameter(f"task {cls.name!r} cannot be trained yet; trainable: {trainable}", param_hint="TASK")
        if not is_database_url(data) and not Path(data).expanduser().exists():
            raise typer.BadParameter(f"no such file or folder: {data}", param_hint="--data")
        given = {"text_col": text_col, "label_col": label_col, "format": data_format, "language": language}
        options = {**{k: v for k, v in given.items() if v is not None}, **parse_params(param or [])}
        artifact = train_to_store(cls.name, name, data, options, progress=sys.stderr.isatty())
    except (ModelbayError, ValueError) as exc:
        fail(exc)
    if as_json:
        return print_json({"model": artifact.ref, "promoted": artifact.promoted, "card": artifact.card})
    val = artifact.card.get("metrics", {}).get("validation", {})
    shown = ", ".join(f"{k} {v:.4f}" for k, v in val.items() if isinstance(v, float)) or "-"
    console.print(f"saved [bold]{artifact.ref}[/]{' (promoted)' if artifact.promoted else ''}: validation {shown}")
    console.print(f"run it:  modelbay run {artifact.name} …   score it:  modelbay eval {artifact.name} --data holdout")


@app.command("eval")
def evaluate(
    task: Annotated[str, typer.Argument(help="task name or alias (e.g. sentiment), or a model name (e.g. support-intent@2)")],
    data: Annotated[str, typer.Option("--data", "-d", help="labelled data: CSV/TSV/JSONL/JSON/Parquet, what the task reads, "
                                                          "or a database table (sqlite:///…?table=…, postgresql://…?query=…)")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="catalog or trained model name")] = None,
    text_col: Annotated[str | None, typer.Option("--text-col", "--text-field", help="column/field holding the input")] = None,
    label_col: Annotated[str | None, typer.Option("--label-col", "--label-field", help="column/field holding the truth")] = None,
    data_format: Annotated[str | None, typer.Option("--format", help="data format when the file name does not say, e.g. jsonl, conll")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="option key=value: metric (k=5, season=7, normalize=true, headline=macro_f1) or input (language=en)")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="report folder (default: ./eval-reports/MODEL-TIMESTAMP)")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="print the metrics only; write no report")] = False,
    batch_size: Annotated[int, typer.Option(help="items per forward pass")] = 32,
    bootstrap: Annotated[int, typer.Option(help="bootstrap resamples for the headline's 95% CI; 0 skips it")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON (with the report paths)")] = False,
    drift: Annotated[bool, typer.Option("--drift", help="compare the data with the training data (PSI per feature); labels optional")] = False,
) -> None:
    """Score a model on labelled data it was not trained on, with the task's standard metrics, and write a report."""
    from .core.errors import ModelbayError
    from .evaluate.report import write_report
    from .evaluate.runner import evaluate as run_evaluation

    given = {"text_col": text_col, "label_col": label_col, "format": data_format}
    try:
        options = {**{k: v for k, v in given.items() if v is not None}, **parse_params(param or [])}
        result = run_evaluation(task, data, model=model, options=options, progress=sys.stderr.isatty(),
                                batch_size=batch_size, n_bootstrap=bootstrap, drift=drift)
        if not no_report:
            result["report"] = write_report(result, out or _default_report_dir(result))
    except (ModelbayError, FileNotFoundError, ValueError) as exc:
        fail(exc)
    if as_json:
        return print_json(result)
    _print_eval(result)


def _default_report_dir(result: dict) -> Path:
    import re
    from datetime import datetime

    name = re.sub(r"[^\w.@-]+", "_", str(result.get("model") or result["task"]))
    return Path("eval-reports") / f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _print_eval(result: dict) -> None:
    metrics, ci = result["metrics"], result.get("ci") or {}
    table = new_table("metric", "value")
    value = result["value"]
    shown = f"{value:.4f}" if isinstance(value, float) else str(value)
    if ci.get("low") is not None:
        shown += f"  ({round(100 * ci['level'])}% CI {ci['low']:.4f}–{ci['high']:.4f})"
    table.add_row(f"[bold]{result['headline']}[/]", f"[bold]{shown}[/]")
    for key, v in metrics.items():
        if key not in ("headline", result["headline"]) and isinstance(v, (int, float)) and not isinstance(v, bool):
            table.add_row(key, f"{v:.4f}" if isinstance(v, float) else str(v))
    console.print(f"{result['task']} · {result['model']} · {result['data']} · {result['n']} items in {result['seconds']:.1f} s")
    console.print(table)
    if result.get("drift"):
        _print_drift(result["drift"])
    if result.get("report"):
        console.print(f"report: {result['report']['html']}")


def _print_drift(drift: dict) -> None:
    table = new_table("feature", str(drift.get("method", "drift")), "band")
    for f in drift.get("features", []):
        table.add_row(str(f["feature"]), f"{f['value']:.4f}", f["band"])
    bands = ", ".join(f"{b} {rule}" for b, rule in drift.get("bands", {}).items())
    console.print(f"drift of {drift.get('n')} rows from the training data ({bands})")
    console.print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="port [default: 8000]")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML file of server settings")] = None,
    preload: Annotated[list[str] | None, typer.Option(help="task[=model] to load before /readyz is ready; 'all' loads every default model")] = None,
    max_batch_size: Annotated[int | None, typer.Option(help="most items in one forward pass [default: 32]")] = None,
    max_wait_ms: Annotated[float | None, typer.Option(help="how long a request waits for others to batch with [default: 2]")] = None,
    batching: Annotated[bool | None, typer.Option("--batching/--no-batching", help="dynamic batching across requests")] = None,
    memory_budget_gb: Annotated[float | None, typer.Option(help="unload least-recently-used models above this RSS")] = None,
    request_timeout_s: Annotated[float | None, typer.Option(help="504 for a request still unanswered after this")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Start the HTTP server (OpenAPI docs at /docs). Flags override MODELBAY_SERVE_* variables, which override --config."""
    import uvicorn

    from .serve.app import create_app
    from .serve.config import ServerConfig

    batch = {k: v for k, v in {"max_batch_size": max_batch_size, "max_wait_ms": max_wait_ms, "enabled": batching}.items()
             if v is not None}
    try:
        settings = ServerConfig.load(config, host=host, port=port, preload=preload or None,
                                     batching=batch or None, memory_budget_gb=memory_budget_gb,
                                     request_timeout_s=request_timeout_s)
    except ValueError as exc:
        fail(exc)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level,
                timeout_graceful_shutdown=30, access_log=not settings.access_log_json)


@app.command()
def version() -> None:
    """Print the modelbay version."""
    from .core.version import __version__

    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
