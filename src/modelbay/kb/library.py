"""Where knowledge bases live: ``<MODELBAY_HOME>/kb/<name>/kb.sqlite``; naming, listing and deleting them."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from ..core.errors import BadInput
from ..core.settings import get_settings

DB_FILE = "kb.sqlite"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class KnowledgeBaseNotFound(BadInput):
    """No knowledge base of that name (404 on the server)."""

    status_code = 404
    code = "knowledge_base_not_found"


def kb_root(root: Path | None = None) -> Path:
    """The folder of all knowledge bases (``root`` if given, else ``<MODELBAY_HOME>/kb``)."""
    return Path(root) if root is not None else get_settings().home / "kb"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith("."):
        raise BadInput(f"invalid knowledge-base name {name!r}",
                       hint="use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit")
    return name


def list_names(root: Path | None = None) -> list[str]:
    folder = kb_root(root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / DB_FILE).is_file() and _NAME.match(p.name))


def existing_folder(name: str, *, root: Path | None = None) -> Path:
    folder = kb_root(root) / check_name(name)
    if not (folder / DB_FILE).is_file():
        names = list_names(root)
        raise KnowledgeBaseNotFound(f"no knowledge base named {name!r}; existing: {', '.join(names) or 'none'}",
                       hint=f"create it with `modelbay kb create {name}`")
    return folder


def create_folder(name: str, settings: dict, *, root: Path | None = None, exist_ok: bool = False) -> Path:
    """Create the knowledge base's folder and SQLite file atomically (built in a temp folder, then renamed)."""
    from .store import KBStore

    folder = kb_root(root) / check_name(name)
    if (folder / DB_FILE).is_file():
        if exist_ok:
            return folder
        raise BadInput(f"a knowledge base named {name!r} already exists",
                       hint=f"open it, or delete it first with `modelbay kb rm {name}`")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{name}-", dir=folder.parent))
    try:
        store = KBStore(staging / DB_FILE)
        store.initialise(settings)
        store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.close()
        try:
            os.rename(staging, folder)
        except OSError:  # another process created it meanwhile
            if exist_ok and (folder / DB_FILE).is_file():
                return folder
            raise BadInput(f"a knowledge base named {name!r} already exists") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def delete(name: str, *, root: Path | None = None) -> None:
    """Delete a knowledge base and all its documents (its source files are not touched)."""
    folder = existing_folder(name, root=root)
    trash = folder.with_name(f".deleting-{name}-{os.getpid()}")
    os.rename(folder, trash)  # gone from listings at once, even if removal is slow
    shutil.rmtree(trash, ignore_errors=True)


def size_on_disk(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
