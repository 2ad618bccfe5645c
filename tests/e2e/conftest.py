"""Start the real `modelbay serve` as a subprocess, for tests that talk to it over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(*preload: str, ready_timeout_s: float = 300, env: dict[str, str] | None = None) -> Iterator[str]:
    """`modelbay serve` on a free loopback port with ``preload`` loaded; yields its base URL."""
    with spawned_server(*preload, ready_timeout_s=ready_timeout_s, env=env) as (base, _proc, _log):
        yield base


@contextmanager
def spawned_server(*preload: str, ready_timeout_s: float = 300, env: dict[str, str] | None = None,
                   plugins: tuple[str, ...] = ()):
    """Like :func:`running_server`, yielding ``(base URL, process, log file)`` for tests that signal it.

    ``plugins``: modules of this folder imported into the server before it starts (``gated_task``).
    """
    import tempfile

    port = _free_port()
    command = [str(Path(sys.executable).with_name("modelbay"))]
    if plugins:
        prelude = "".join(f"import {name}; " for name in plugins)
        command = [sys.executable, "-c", prelude + "from modelbay.cli import main; main()"]
        path = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
        env = {**(env or {}), "PYTHONPATH": path}
    flags = [arg for task in preload for arg in ("--preload", task)]
    # the server's output (JSON access log included) goes to a file: an unread pipe would fill up and block it
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the server; closed in finally
    proc = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port), *flags, "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ, "MODELBAY_OFFLINE": "1", **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_timeout_s
    ready = False
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                ready = True
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    if not ready:
        proc.kill()
        log.seek(0)
        pytest.fail(f"server did not become ready:\n{log.read()[-3000:]}")
    try:
        yield base, proc, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A server with the sentiment model preloaded."""
    with running_server("sentiment") as base:
        yield base


@pytest.fixture(scope="session")
def start_server():
    """``running_server`` for tests that need other models preloaded: ``with start_server("chat") as base: ...``."""
    return running_server


@pytest.fixture(scope="session")
def spawn_server():
    """``spawned_server`` for tests that signal the process: ``with spawn_server("x") as (base, proc, log)``."""
    return spawned_server
