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

from pathlib import Path

from ..errors import ModelNotFound, ModelUnavailable
from ..settings import get_settings
from .hashing import sha256_file
from .sources import locate_source
from .specs import CATALOG_DIR, JoinPart, ModelSpec, ResolvedModel, _load_specs, load_spec_file
from .verify import cached_verification, verify


def list_models(task: str | None = None, *, trained: bool = True) -> list[ModelSpec]:
    """Catalog specs, then trained models (the promoted version of each name) from the artifact store."""
    specs = list(_load_specs().values())
    if trained:
        from .trained import listed_trained_specs

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
    from ..store import VersionNotFound
    from .trained import trained_spec

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
    from .trained import trained_canonical_ref

    try:
        return trained_canonical_ref(name)
    except ModelNotFound:
        raise _unknown_model(name, specs) from None


def _unknown_model(name: str, specs: dict[str, ModelSpec]) -> ModelNotFound:
    return ModelNotFound(f"no model named {name!r} in the catalog; known: {', '.join(sorted(specs))}",
                         hint="`modelbay models`")


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


__all__ = ["CATALOG_DIR", "JoinPart", "ModelSpec", "ResolvedModel", "cached_verification", "canonical_ref",
           "get_spec", "list_models", "load_spec_file", "locate", "locate_source", "resolve", "sha256_file",
           "verify"]
