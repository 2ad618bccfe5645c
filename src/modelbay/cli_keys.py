"""`modelbay keys create/list/revoke`: API keys for `modelbay serve`, stored hashed.

The key file is the one the server reads: ``--db`` if given, else ``auth.keys_db`` from
``--config`` / ``MODELBAY_SERVE_AUTH__KEYS_DB``, else ``<MODELBAY_HOME>/keys.db``.
Kept apart from cli.py (which mounts it) and free of imports from it, to avoid a cycle.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

keys_app = typer.Typer(help="API keys for `modelbay serve` (shown once, stored hashed).", no_args_is_help=True)

DbOption = Annotated[Path | None, typer.Option("--db", help="key file [default: the server's auth.keys_db, "
                                                            "else <MODELBAY_HOME>/keys.db]")]
ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="server YAML file to read auth.keys_db from")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
ScopeOption = Annotated[list[str] | None, typer.Option(
    "--scope", "-s", help="what the key may do; repeat it or separate with commas: run (tasks, models, OpenAI "
    "routes), train (/v1/jobs), metrics (/metrics), admin (all); default: run")]

#: per scope, a request that shows the key working: (path, JSON body to POST, or None to GET)
_SENTIMENT = ("/v1/tasks/sentiment", '{"inputs": ["I love it"]}')
_EXAMPLES = {"run": _SENTIMENT, "train": ("/v1/jobs", None), "metrics": ("/metrics", None), "admin": _SENTIMENT}


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


def _server_config(config: Path | None):
    from .serve.config import ServerConfig

    try:
        return ServerConfig.load(config)
    except ValueError as exc:
        _fail(exc)


def _store(db: Path | None, config: Path | None):
    from .serve.keys import KeyStore

    return KeyStore(db if db is not None else _server_config(config).auth.keys_db)


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="who or what the key is for, e.g. 'billing-service'")],
    scope: ScopeOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print it. It is shown only this once: only its hash is stored.

    Its scopes are fixed: for other rights, create another key (and revoke this one).
    """
    from .core.errors import ModelbayError
    from .serve.key_scopes import normalize_scopes

    with _store(db, config) as store:
        try:
            scopes = normalize_scopes(scope or ["run"])
            key_id, secret = store.create(name, scopes=scopes)
        except ModelbayError as exc:
            _fail(exc)
        path = store.path
    if as_json:
        return _print_json({"id": key_id, "name": name, "key": secret, "scopes": list(scopes), "keys_db": str(path)})
    server = _server_config(config)
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
    host = f"[{host}]" if ":" in host else host
    route, body = _EXAMPLES[scopes[0]]
    request = f"-d '{body}' " if body else ""
    typer.echo(f"Created API key {key_id} ({name!r}, scopes: {', '.join(scopes)}) in {path}.\n"
               "Copy it now; it cannot be shown again (only a hash of it is stored):\n\n"
               f"    {secret}\n\n"
               "Use it:\n\n"
               f"    curl -H 'Authorization: Bearer {secret}' \\\n"
               f"         {request}http://{host}:{server.port}{route}\n")


@keys_app.command("list")
def list_keys(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List keys: id, name, scopes, created, last used, requests, revoked. Never the keys themselves."""
    with _store(db, config) as store:
        rows = [k.to_dict() for k in store.list()]
        path = store.path
    if as_json:
        return _print_json(rows)
    if not rows:
        typer.echo(f"no API keys in {path}; create one with `modelbay keys create NAME`")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(caption=f"{path} (usage counts from a running server lag by up to a few seconds)")
    for column in ("id", "name", "scopes", "created", "last used", "requests", "revoked"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["id"], r["name"], ",".join(r["scopes"]), r["created"], r["last_used"] or "-", str(r["requests"]),
                      f"[red]{r['revoked']}[/]" if r["revoked"] else "-")
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@keys_app.command("revoke")
def revoke(
    id_or_name: Annotated[str, typer.Argument(help="the key's id (from `modelbay keys list`) or its name")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke a key: requests with it get 401 from then on (a running server sees it at once)."""
    from .core.errors import ModelbayError

    with _store(db, config) as store:
        try:
            before = {k.id: k.revoked for k in store.list()}
            info = store.revoke(id_or_name)
        except ModelbayError as exc:
            _fail(exc)
    if before.get(info.id):
        typer.echo(f"key {info.id} ({info.name!r}) was already revoked at {info.revoked}")
    else:
        typer.echo(f"revoked key {info.id} ({info.name!r}); it had served {info.requests} requests")
