"""The type of a task request's ``inputs``: one item (an object, or a bare string for tasks with a primary
field) or a list of them, chosen by the value's shape before anything is validated.

A plain union would try every branch and report each failure: an empty question came back as "inputs.list[…]:
Input should be a valid array; inputs.str: Input should be a valid string; inputs.AssistantInput.question:
String should have at least 1 character". Here the value's shape picks one branch (a tagged union with a
callable discriminator), so the error names only the field that is wrong; the branch tags in its location
are dropped by the error handler (:data:`SHAPE_TAGS`).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Discriminator, Tag

#: the branch names pydantic puts in an error's location; never a field name (they are not identifiers)
LIST, OBJECT, TEXT = "<list>", "<object>", "<text>"
SHAPE_TAGS = frozenset({LIST, OBJECT, TEXT})


def _shape(value: Any) -> str | None:
    if isinstance(value, list):
        return LIST
    if isinstance(value, str):
        return TEXT
    if isinstance(value, dict) or hasattr(value, "model_dump"):
        return OBJECT
    return None


def _one_of(branches: list[Any], wanted: str) -> Any:
    return Annotated[Union[tuple(branches)], Discriminator(  # noqa: UP007 (a runtime tuple of types)
        _shape, custom_error_type="invalid_shape", custom_error_message=f"expected {wanted}")]


def inputs_annotation(item: type, accepts_text: bool) -> Any:
    """``list[item-or-text] | item | text``, discriminated by shape (``accepts_text``: a bare string is an item)."""
    one = [Annotated[item, Tag(OBJECT)]] + ([Annotated[str, Tag(TEXT)]] if accepts_text else [])
    wanted_one = "an object or a string" if accepts_text else "an object"
    element = _one_of(one, wanted_one) if accepts_text else item
    return _one_of([Annotated[list[element], Tag(LIST)], *one], f"{wanted_one}, or a list of them")
