"""``--param key=value`` training options into a trainer's config dataclass, the same way for every trainer.

>>> from dataclasses import dataclass
>>> @dataclass
... class C:
...     epochs: int = 3
...     hidden_sizes: tuple[int, ...] = (256,)
...     shuffle: bool = True
>>> config_from_options(C, {"epochs": "5", "hidden_sizes": 64, "shuffle": "no"})
C(epochs=5, hidden_sizes=(64,), shuffle=False)

Unknown names are an error listing the known ones; a value that does not fit its field
(``epochs=many``, ``shuffle=maybe``) is an error naming it. Fields typed ``int``, ``float``,
``str``, ``bool`` or ``tuple[X, ...]`` are converted (one value becomes a 1-tuple, ``"a,b"`` two, ``""`` an empty
one); anything else (``float | None``, ``str | dict``…) is passed as given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from ..core.errors import BadInput

_SCALARS = {"int": int, "float": float, "str": str}
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


def config_from_options(cls, options: dict[str, Any], *, what: str = "", also_known: Iterable[str] = ()):
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(options) - set(known))
    if unknown:
        listed = ", ".join(sorted(set(known) | set(also_known)))
        raise BadInput(f"unknown training option(s) {', '.join(unknown)}{' for ' + what if what else ''}; known: {listed}")
    values = {}
    for key, value in options.items():
        annotation = known[key].type  # a string under `from __future__ import annotations`, else the type
        kind = (annotation.__name__ if isinstance(annotation, type) else str(annotation)).replace(" ", "")
        try:
            values[key] = _convert(kind, value)
        except (TypeError, ValueError):
            raise BadInput(f"training option {key}={value!r}: expected {kind}") from None
    return cls(**values)


def _convert(kind: str, value: Any) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
        raise ValueError(value)
    if kind in _SCALARS:
        return _SCALARS[kind](value)
    if kind.startswith("tuple[") and kind.endswith(",...]"):
        if isinstance(value, str) and "," in value:  # --param candidates=AutoETS,AutoTheta
            value = [part.strip() for part in value.split(",") if part.strip()]
        items = value if isinstance(value, (list, tuple)) else ([] if value in ("", None) else [value])
        element = _SCALARS.get(kind[len("tuple["):-len(",...]")], lambda v: v)
        return tuple(element(v) for v in items)
    return value
