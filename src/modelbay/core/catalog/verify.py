"""``modelbay models verify``: every listed file's sha256 against the spec, remembered per size and mtime."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..settings import get_settings
from .hashing import sha256_file
from .specs import ResolvedModel


def verify(resolved: ResolvedModel) -> dict[str, str]:
    """Check every listed file's sha256. Returns ``{relative_path: "ok" | "missing" | "mismatch"}``.

    The result is remembered (keyed by each file's size and mtime) so listings can
    show it without hashing hundreds of MB again; see :func:`cached_verification`.
    """
    results = {}
    for rel, expected in resolved.spec.files.items():
        path = resolved.file(rel)
        if not path.is_file() and rel in resolved.spec.join:
            from .assemble import part_status

            results[rel] = part_status(resolved.spec, rel)  # not joined yet: check its parts
        elif not path.is_file():
            results[rel] = "missing"
        else:
            results[rel] = "ok" if sha256_file(path) == expected else "mismatch"
    _remember(resolved, results)
    return results


def _fingerprint(resolved: ResolvedModel) -> str:
    parts = [str(resolved.path)]
    for rel, expected in sorted(resolved.spec.files.items()):
        path = resolved.file(rel)
        stat = path.stat() if path.is_file() else None
        parts.append(f"{rel}:{expected}:{stat.st_size if stat else -1}:{stat.st_mtime_ns if stat else -1}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _verify_cache_path() -> Path:
    return get_settings().home / "verified.json"


def _remember(resolved: ResolvedModel, results: dict[str, str]) -> None:
    import os
    import tempfile

    path = _verify_cache_path()
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    data[resolved.spec.name] = {"fingerprint": _fingerprint(resolved), "results": results}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs re-hashing next time


def cached_verification(resolved: ResolvedModel) -> dict[str, str] | None:
    """The last :func:`verify` result if no file changed since, else None."""

    try:
        entry = json.loads(_verify_cache_path().read_text()).get(resolved.spec.name)
    except (OSError, ValueError):
        return None
    if entry and entry.get("fingerprint") == _fingerprint(resolved):
        return entry["results"]
    return None
