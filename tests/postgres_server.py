"""A real PostgreSQL server for the tests: initdb in a temp folder, started on a loopback port, removed after.

``.ci/run`` installs Debian's ``postgresql``; the server binaries are found under
``/usr/lib/postgresql/<version>/bin``. PostgreSQL refuses to run as root, so as root the cluster
belongs to the ``postgres`` user that the Debian package creates. Without the binaries the
fixture skips locally and fails in CI (``CI=true``), so CI cannot pass without the real server.

>>> with postgres_cluster() as url:                      # doctest: +SKIP
...     url
'postgresql://modelbay@127.0.0.1:54123/modelbay'
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = DATABASE = "modelbay"


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a throwaway cluster in a new temp folder; yield its URL (trust auth, loopback only); stop and delete it after.

    The folder is made directly under the system temp folder: pytest's own are private to the
    user running the tests, and the ``postgres`` user could not enter them.
    """
    bindir = server_binaries()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run installs Debian's postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="modelbay-postgres-"))
    data, sockets = folder / "pgdata", folder / "sockets"
    sockets.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
        folder.chmod(0o755)
    port = _free_port()
    subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8",
                              "--no-sync"]), check=True, capture_output=True)
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -F"
    subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "60",
                              "-l", str(folder / "server.log"), "start"]), check=True, capture_output=True)
    try:
        subprocess.run(_as_owner([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE]),
                       check=True, capture_output=True)
        yield f"postgresql://{USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
