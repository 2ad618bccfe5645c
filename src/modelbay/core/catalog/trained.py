"""Trained models as catalog specs: the artifact store seen through ``core/catalog.py``.

A trained model's spec is named by its canonical reference (``support-intent@2``),
whichever spelling asked for it, so everything keyed by ``spec.name`` (the server's
loaded models, batchers, metrics labels) holds one entry per model. Listings show the
promoted version under its bare name, the one users type.
"""

from __future__ import annotations

from ..errors import BadInput, ModelNotFound
from ..refs import parse_ref
from .specs import ModelSpec


def spec_from_artifact(artifact, name: str | None = None) -> ModelSpec:
    """A trained version as a spec named ``name``, else ``name@version``; its files are the version's directory."""
    card = artifact.card
    size = sum(p.stat().st_size for p in artifact.path.rglob("*") if p.is_file()) / 1e6 if artifact.path.is_dir() else 0
    return ModelSpec(
        name=name or artifact.ref, task=artifact.task,
        languages=card.get("languages") or ["multilingual"], sources=[f"artifact:{artifact.ref}"],
        license=card.get("license", "trained on your data"), origin=f"trained by modelbay ({artifact.ref})",
        size_mb=round(size, 2), install=f"modelbay train {artifact.task} … --name {artifact.name}",
        description=card.get("description", ""), options=card.get("options", {}),
        metrics=card.get("metrics", {}),
    )


def listed_trained_specs() -> list[ModelSpec]:
    """The promoted version of every trained name, listed under the bare name."""
    from ..store import ArtifactStore

    try:
        return [spec_from_artifact(a, name=a.name) for a in ArtifactStore().list() if a.promoted]
    except (OSError, ValueError):  # an unreadable store must not hide the built-in catalog
        return []


def trained_spec(ref: str) -> ModelSpec:
    """The spec of ``name`` (the promoted version) or ``name@version``; ModelNotFound if the store has no such name,
    VersionNotFound (a ModelNotFound) if it has the name but not that version, BadInput for a malformed reference."""
    from ..store import ArtifactStore

    _parse(ref)
    return spec_from_artifact(ArtifactStore().get(ref))


def trained_canonical_ref(ref: str) -> str:
    """``name@version`` with the version a plain number; a bare name is its promoted version (one index query)."""
    name, version = _parse(ref)
    if version is None:
        from ..store import ArtifactStore

        version = ArtifactStore().promoted_version(name)
    return f"{name}@{version}"


def _parse(ref: str) -> tuple[str, int | None]:
    """A malformed ``name@version`` is a 422 naming the rule; a bare name no model can have is simply not found."""
    try:
        return parse_ref(ref)
    except BadInput:
        if "@" in ref:
            raise
        raise ModelNotFound(f"no model named {ref!r}") from None
