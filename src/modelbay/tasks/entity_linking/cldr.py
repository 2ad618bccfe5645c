"""The default entity table: the world's countries and regions as Unicode CLDR names them (via Babel).

Each territory of CLDR (``US``, ``CN``, ``DE``…, and the numeric regions such as ``150`` Europe)
becomes an entity: its English name, and as aliases its Simplified and Traditional Chinese names
and the names of ``alias_locales``. The table is built from the installed Babel (BSD; CLDR data
under the Unicode licence) when the model loads: no file ships with modelbay.

>>> entities = cldr_territories()          # doctest: +SKIP
>>> [e for e in entities if e.id == "DE"][0].aliases[:2]   # doctest: +SKIP
('德国', '德國')
"""

from __future__ import annotations

from ...core.errors import ModelUnavailable
from .table import EntityRecord

BABEL_REQUIREMENT = "babel==2.19.0"


def territory_names(locale: str) -> dict[str, str]:
    """CLDR territory code -> name in ``locale`` (e.g. ``"fr"``, ``"zh_Hans"``)."""
    try:
        from babel import Locale
    except ImportError:
        raise ModelUnavailable("Babel is not installed, so the CLDR country table cannot be built",
                               hint=f"pip install {BABEL_REQUIREMENT}") from None
    return dict(Locale.parse(locale).territories)


def cldr_territories(alias_locales: tuple[str, ...] = ("zh_Hans", "zh_Hant")) -> list[EntityRecord]:
    """One entity per CLDR territory: English name, aliases from ``alias_locales``, type country or region."""
    english = territory_names("en")
    others = [territory_names(locale) for locale in alias_locales]
    entities = []
    for code, name in sorted(english.items()):
        aliases = tuple(dict.fromkeys(n[code] for n in others if n.get(code) and n[code] != name))
        kind = "region" if code.isdigit() else "country or territory"
        entities.append(EntityRecord(code, name, aliases, "", kind))
    return entities
