"""Labelled mentions for ``modelbay eval entity-linking``: a table of ``text``, ``entity_id`` (``NIL``/empty: none)
and optionally ``start``/``end`` (the mention's span in the text; absent: the whole text is the mention)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import BadInput


def read_linking_records(path: str | Path, fmt: str | None = None) -> list[dict[str, Any]]:
    """Records ``{"text", "entity_id", "mentions" | "find"}`` ready for the evaluator.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv"; _ = p.write_text("text,entity_id\\nBerlin,DE\\nfoo,\\n")
    >>> [r["entity_id"] for r in read_linking_records(p)]
    ['DE', 'NIL']
    """
    from ...data.loaders import read_table

    records = []
    for number, row in read_table(path, fmt):
        text = str(row.get("text") or "")
        if not text or "entity_id" not in row:
            raise BadInput(f"{path} record {number}: needs 'text' and 'entity_id' (got {sorted(row)})",
                           hint="columns: text, entity_id (NIL or empty for none), optional start, end")
        gold = str(row.get("entity_id") or "").strip() or "NIL"
        record: dict[str, Any] = {"text": text, "entity_id": gold}
        if row.get("start") not in (None, "") and row.get("end") not in (None, ""):
            record["mentions"] = [{"start": int(row["start"]), "end": int(row["end"])}]
        else:
            record["find"] = "text"
        records.append(record)
    return records
