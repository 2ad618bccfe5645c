"""Where one source (``package:…``, ``local:…``, ``hub:…``, ``artifact:…``) is on this machine."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import ModelNotFound
from ..settings import get_settings


def _package_dir(ref: str) -> Path | None:
    import_name, _, sub = ref.partition("/")
    try:
        found = importlib.util.find_spec(import_name)  # locates without importing the package
    except (ImportError, ValueError):
        return None
    if found is None:
        return None
    roots = list(found.submodule_search_locations or []) or ([str(Path(found.origin).parent)] if found.origin else [])
    for root in roots:
        candidate = Path(root) / sub
        if candidate.exists():
            return candidate
    return None


def _hub_dir(ref: str) -> Path | None:
    repo, _, revision = ref.partition("@")
    settings = get_settings()
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        return Path(snapshot_download(repo, revision=revision or None, local_files_only=settings.offline,
                                      cache_dir=settings.hub_cache))
    except Exception:  # noqa: BLE001 - any hub failure means "not available from this source"; resolve() explains
        return None


def _artifact_dir(ref: str) -> Path | None:
    from ..store import ArtifactStore

    try:
        path = ArtifactStore().get(ref).path  # only versions in the index count: a stray directory is not one
    except ModelNotFound:
        return None
    return path if path.is_dir() else None


def _installed_dir(ref: str) -> Path | None:
    from .install import installed_source_dir

    return installed_source_dir(ref)


_RESOLVERS = {
    "package": _package_dir,
    "local": lambda ref: Path(ref).expanduser() if Path(ref).expanduser().exists() else None,
    "hub": _hub_dir,
    "artifact": _artifact_dir,
    # built once by `modelbay models install NAME` (core/catalog/install.py)
    "installed": _installed_dir,
}


def locate_source(source: str) -> Path | None:
    """Where one source (``package:…``, ``local:…``, ``hub:…``, ``artifact:…``) is on this machine, or None."""
    kind, _, ref = source.partition(":")
    resolver = _RESOLVERS.get(kind)
    if resolver is None:
        raise ValueError(f"unknown source kind {kind!r} in {source!r}")
    return resolver(ref)
