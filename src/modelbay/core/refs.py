"""Model references: ``name`` or ``name@version``, parsed in one place so every spelling of a model is one model.

Caches and metrics key on the canonical form (``name@<int>``, see
:func:`modelbay.core.catalog.canonical_ref`), never on the string a client sent:
``support-intent@1``, ``@01`` and ``@001`` are one model, loaded once.
"""

from __future__ import annotations

import re

from .errors import BadInput

_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_MAX_VERSION_DIGITS = 9  # SQLite integers are 64-bit, and no one trains a billion versions of one name
REF_RULE = "a model reference is NAME or NAME@VERSION, VERSION a whole number from 1 in ASCII digits"


def check_name(name: str) -> None:
    """A trained model's name: 1-64 lowercase ASCII letters, digits, '.', '_' or '-'; a letter or digit first."""
    if not _NAME_PATTERN.fullmatch(name):
        raise BadInput(f"bad model name {name!r}: use 1-64 lowercase letters, digits, '.', '_' or '-'")


def parse_ref(ref: str) -> tuple[str, int | None]:
    """Split a trained model's reference; the version is an ``int``, so ``@2`` and ``@002`` are the same.

    >>> parse_ref("support-intent@2"), parse_ref("support-intent@002"), parse_ref("support-intent")
    (('support-intent', 2), ('support-intent', 2), ('support-intent', None))
    >>> parse_ref("support-intent@²")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    modelbay.core.errors.BadInput: bad model reference 'support-intent@²': the version after '@' must be ...
    """
    name, sep, version = ref.partition("@")
    if not name:
        raise BadInput(f"bad model reference {ref!r}: there is no model name before '@'", hint=REF_RULE)
    check_name(name)
    if not sep:
        return name, None
    digits = version.lstrip("0")
    if not (version.isascii() and version.isdigit() and digits and len(digits) <= _MAX_VERSION_DIGITS):
        raise BadInput(f"bad model reference {ref!r}: the version after '@' must be a whole number from 1 "
                       f"in ASCII digits, e.g. {name}@2", hint=REF_RULE)
    return name, int(digits)
