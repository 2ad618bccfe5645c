"""Plain-data views of tasks and models, shared by the CLI and the server."""

from __future__ import annotations

from typing import Any

from .catalog import cached_verification, list_models, locate, verify
from .registry import all_tasks


def tasks_table() -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "aliases": list(t.aliases),
            "default_model": t.default_model,
            "capabilities": sorted(t.capabilities),
            "description": t.description,
        }
        for t in all_tasks()
    ]


def models_table(*, check: bool = False) -> list[dict[str, Any]]:
    """One row per catalog model; ``check`` also verifies sha256 of installed files (slow for big models)."""
    rows = []
    for spec in list_models():
        found = locate(spec)
        row = {
            "name": spec.name,
            "task": spec.task,
            "languages": spec.languages,
            "source": found.source if found else spec.sources[0],
            "size_mb": spec.size_mb,
            "license": spec.license,
            "installed": found is not None,
            "verified": None,
            "path": str(found.path) if found else None,
            "install": spec.install,
        }
        if found is not None:
            results = verify(found) if check else cached_verification(found)
            if results is not None:
                # a model that lists no files (a trained one, say) has nothing to check: neither yes nor no
                row["verified"] = all(v == "ok" for v in results.values()) if results else None
                row["files"] = results
        rows.append(row)
    return rows
