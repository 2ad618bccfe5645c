"""Storing an entity table as a model (``fit``) and loading a linker from a model directory or spec.

>>> config_from(dict(embedder="none", nil_threshold="0.8")).embedder is None
True
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from .linker import Linker
from .table import EntityModel, LinkerConfig, read_entity_model, read_entity_table, write_entity_model

#: entities embedded per forward pass
EMBED_BATCH = 64


def config_from(options: dict[str, Any]) -> LinkerConfig:
    """A ``LinkerConfig`` from CLI/HTTP options (strings are converted; ``embedder=none`` turns embeddings off)."""
    known = {f.name: f for f in fields(LinkerConfig)}
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise BadInput(f"unknown entity-linking option(s) {unknown}", hint=f"known: {', '.join(known)}, format")
    values: dict[str, Any] = {}
    for key, value in options.items():
        if key == "embedder":
            values[key] = None if value in (None, "", "none", "None") else str(value)
            continue
        kind = int if key in ("candidates", "context_chars") else float
        try:
            values[key] = kind(value)
        except (TypeError, ValueError):
            raise BadInput(f"option {key}={value!r}: expected a number") from None
    config = LinkerConfig(**values)
    if not 0 <= config.nil_threshold <= 1 or config.temperature <= 0:
        raise BadInput("nil_threshold must be between 0 and 1 and temperature above 0")
    return config


def _encoder(embedder: str, device: str):
    from ...core.loading import load_task

    model = load_task("embeddings", embedder, device)
    return lambda texts, kind="query": model.encode(texts, [kind] * len(texts))


def embed_passages(entities, embedder: str, device: str = "cpu", progress: Any = False):
    """(n, dim) float32 passage embeddings of the entities, in batches."""
    import numpy as np

    from ...ml.progress import reporter

    encode = _encoder(embedder, device)
    passages = [e.passage() for e in entities]
    out = []
    with reporter(progress) as rep:
        tick = rep.stage("embedding entities", total=len(passages))
        for start in range(0, len(passages), EMBED_BATCH):
            out.append(np.asarray(encode(passages[start:start + EMBED_BATCH], "passage"), dtype=np.float32))
            tick(min(start + EMBED_BATCH, len(passages)))
    return np.concatenate(out)


def train_entity_table(data: Path, out_dir, options: dict[str, Any], *, name: str, task: str,
                       progress: Any = False) -> dict[str, Any]:
    """Read the table at ``data``, embed its entities and write the model directory; returns the card."""
    from ...ml.fingerprint import file_sha256
    from ...ml.model_dir import atomic_model_dir, utc_timestamp, write_card

    options = dict(options)
    entities = read_entity_table(data, options.pop("format", None))
    config = config_from(options)
    t0 = time.perf_counter()
    vectors = embed_passages(entities, config.embedder, progress=progress) if config.embedder else None
    languages = ["en", "zh"]
    card = {"name": name, "task": task, "languages": languages, "base_model": config.embedder,
            "format": "modelbay.entity-table/1", "created": utc_timestamp(),
            "data": {"file": str(data), "sha256": file_sha256(data), "n_entities": len(entities),
                     "n_names": sum(len(e.names) for e in entities),
                     "types": sorted({e.type for e in entities if e.type})},
            "options": {"backend": "table"}, "config": asdict(config),
            "training": {"seconds": round(time.perf_counter() - t0, 1)}, "metrics": {}}
    with atomic_model_dir(out_dir) as tmp:
        write_entity_model(tmp, entities, config, vectors)
        write_card(tmp, card)
    return card


def load_linker(path: Path, options: dict[str, Any], device: str = "cpu") -> Linker:
    """The linker of a model: ``backend: table`` (a trained table) or ``backend: cldr`` (CLDR countries)."""
    backend = options.get("backend", "table")
    if backend == "cldr":
        from .cldr import cldr_territories

        entities = cldr_territories(tuple(options.get("alias_locales", ("zh_Hans", "zh_Hant"))))
        config = config_from(options.get("config", {}))
        vectors = embed_passages(entities, config.embedder, device) if config.embedder else None
        model = EntityModel(entities, config, vectors)
    elif backend == "table":
        model = read_entity_model(path)
    else:
        raise BadInput(f"unknown entity-linking backend {backend!r}; known: table, cldr")
    encode = _encoder(model.config.embedder, device) if model.config.embedder and model.vectors is not None else None
    return Linker(model, encode)
