"""The entity table: what a user links mentions to, read from CSV/TSV/JSONL and kept in a model directory.

A table has one row per entity: ``id`` and ``name`` (required), ``aliases`` (in CSV/TSV one cell
with ``|`` between aliases; in JSONL a list or such a string), ``description`` and ``type``
(optional). The model format (``modelbay.entity-table/1``) is the reader and writer together:

* ``entities.jsonl`` — the entities, one JSON object a line
* ``vectors.npy`` — their passage embeddings (float32, rows in table order), when an embedder is set
* ``linker.json`` — the format, the embedder's catalog name and the linking defaults

>>> entities_from_rows([(2, {"id": "P1", "name": "iPhone 15", "aliases": "苹果15|iphone15"})])[0].aliases
('苹果15', 'iphone15')
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...core.errors import BadInput, ModelUnavailable

FORMAT = "modelbay.entity-table/1"
ENTITIES_FILE = "entities.jsonl"
VECTORS_FILE = "vectors.npy"
CONFIG_FILE = "linker.json"
_ALIAS_SEPARATOR = "|"


@dataclass(frozen=True)
class EntityRecord:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    type: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The name and its aliases, each once, in order."""
        return tuple(dict.fromkeys((self.name, *self.aliases)))

    def passage(self) -> str:
        """The text its embedding is made from: names, type and description."""
        names = " / ".join(self.names)
        return " — ".join(part for part in (names, self.type, self.description) if part)


@dataclass
class LinkerConfig:
    """Linking defaults stored with the table (an input's ``threshold`` overrides ``nil_threshold``)."""

    embedder: str | None = "multilingual-e5-small"  # None: fuzzy string matching only
    nil_threshold: float = 0.7       # a best candidate scoring below this is NIL (no entity)
    temperature: float = 0.005       # softmax temperature over embedding cosines (e5's sit in 0.75-0.9)
    candidates: int = 10             # candidates kept from each of the string and embedding searches
    context_chars: int = 40          # characters each side of a mention added to its embedding query

    @classmethod
    def known_fields(cls) -> tuple[str, ...]:
        return tuple(cls.__dataclass_fields__)


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), case-folded, inner whitespace collapsed: the form names are compared in."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _aliases(value: Any, where: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = value.split(_ALIAS_SEPARATOR)
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise BadInput(f"{where}: aliases must be a list of strings or one string with '|' between aliases")
    return tuple(s for s in (str(v).strip() for v in value) if s)


def entities_from_rows(rows: list[tuple[int, dict[str, Any]]], where: str = "row") -> list[EntityRecord]:
    """Entity records from table rows ``(line, row)``; ids must be unique and names non-empty."""
    entities: list[EntityRecord] = []
    seen: set[str] = set()
    for number, row in rows:
        here = f"{where} {number}"
        entity_id, name = str(row.get("id") or "").strip(), str(row.get("name") or "").strip()
        if not entity_id or not name:
            raise BadInput(f"{here}: every entity needs an 'id' and a 'name' (got columns {sorted(row)})",
                           hint="columns: id, name, aliases (a|b|c), description, type")
        if entity_id in seen:
            raise BadInput(f"{here}: duplicate entity id {entity_id!r}", hint="ids must be unique")
        seen.add(entity_id)
        entities.append(EntityRecord(entity_id, name, _aliases(row.get("aliases"), here),
                                     str(row.get("description") or "").strip(), str(row.get("type") or "").strip()))
    if not entities:
        raise BadInput(f"{where}: the table holds no entities")
    return entities


def read_entity_table(path: str | Path, fmt: str | None = None) -> list[EntityRecord]:
    """Entities from a CSV/TSV/JSONL/JSON/Parquet table with columns id, name, aliases, description, type."""
    from ...data.loaders import read_table

    return entities_from_rows(read_table(path, fmt), where=str(path))


def write_entity_model(directory: Path, entities: list[EntityRecord], config: LinkerConfig, vectors=None) -> None:
    """Write the table, its vectors (if any) and ``linker.json`` into ``directory``."""
    import numpy as np

    from ...ml.model_dir import write_json

    lines = [json.dumps({**asdict(e), "aliases": list(e.aliases)}, ensure_ascii=False) for e in entities]
    (directory / ENTITIES_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    if vectors is not None:
        np.save(directory / VECTORS_FILE, np.asarray(vectors, dtype=np.float32))
    write_json(directory, CONFIG_FILE, {"format": FORMAT, **asdict(config)})


@dataclass
class EntityModel:
    entities: list[EntityRecord]
    config: LinkerConfig
    vectors: Any = None  # (n, dim) float32 or None
    meta: dict[str, Any] = field(default_factory=dict)


def read_entity_model(directory: str | Path) -> EntityModel:
    """The table written by :func:`write_entity_model`; a clear error when a file is missing or of another format."""
    import numpy as np

    directory = Path(directory)
    config_path, table_path = directory / CONFIG_FILE, directory / ENTITIES_FILE
    if not config_path.is_file() or not table_path.is_file():
        raise ModelUnavailable(f"{directory}: not an entity-linking model ({CONFIG_FILE} or {ENTITIES_FILE} is missing)",
                               hint="train one: modelbay train entity-linking --data entities.csv --name NAME")
    raw = json.loads(config_path.read_text(encoding="utf-8"))
    if raw.pop("format", None) != FORMAT:
        raise ModelUnavailable(f"{config_path}: format is not {FORMAT}", hint="retrain the model with this modelbay")
    config = LinkerConfig(**{k: v for k, v in raw.items() if k in LinkerConfig.known_fields()})
    entities = [EntityRecord(**{**json.loads(line), "aliases": tuple(json.loads(line)["aliases"])})
                for line in table_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    vectors = np.load(directory / VECTORS_FILE) if (directory / VECTORS_FILE).is_file() else None
    if vectors is not None and len(vectors) != len(entities):
        raise ModelUnavailable(f"{directory}: {len(vectors)} vectors for {len(entities)} entities", hint="retrain the model")
    return EntityModel(entities, config, vectors)
