"""The checks every task passes (the task contract), shared by the conformance suite and the capability template.

tests/integration/test_conformance.py runs them on every registered task with its default model;
tests/unit/test_capability_template.py runs them on a copy of ``src/modelbay/tasks/_template``, so a
new capability folder is held to exactly what the others are.
"""

from __future__ import annotations

import pytest

from modelbay.core.errors import BadInput


def examples_round_trip_through_the_schema(cls) -> None:
    for example in cls.examples():
        item = cls.coerce(example)
        again = cls.Input.model_validate_json(item.model_dump_json())
        assert again == item


def batch_of_one_and_of_n_agree_and_lengths_match(cls, task) -> None:
    items = [cls.coerce(e) for e in cls.examples()]
    assert len(items) >= 2, f"{cls.name}: give at least two example inputs"
    together = task(items)
    assert len(together) == len(items)
    alone = [task([item])[0] for item in items]
    for a, b in zip(together, alone):
        assert isinstance(a, cls.Output)
        if cls.batch_invariant:
            assert_close(a.model_dump(), b.model_dump())
        else:  # LLM text may differ by a near-tie token (Task.batch_invariant); the structure may not
            assert a.model_dump().keys() == b.model_dump().keys()


def wrong_type_gives_a_clear_error(cls) -> None:
    with pytest.raises(BadInput) as info:
        cls.coerce({cls.primary_field: 12345})
    assert cls.primary_field in str(info.value)


def outputs_serialise_to_json(cls, task) -> None:
    out = task([cls.coerce(cls.examples()[0])])[0]
    assert cls.Output.model_validate_json(out.model_dump_json()) == out
    assert isinstance(out.summary(), str) and out.summary()


#: how each ``render_media_type`` starts: a PNG's signature, an MP4's ``ftyp`` box after its 4-byte size
MEDIA_MAGIC = {"image/png": (0, b"\x89PNG\r\n\x1a\n"), "video/mp4": (4, b"ftyp")}


def renders_are_media_of_the_declared_type(cls, task) -> None:
    """A task that declares Rendering draws every example's result as a real file of its media type."""
    from modelbay.core.protocols import Rendering

    if not issubclass(cls, Rendering):
        return
    assert cls.render_media_type in MEDIA_MAGIC, f"{cls.name}: unknown render_media_type {cls.render_media_type!r}"
    offset, magic = MEDIA_MAGIC[cls.render_media_type]
    items = [cls.coerce(e) for e in cls.examples()]
    for item, out in zip(items, task(items)):
        data = task.render(item, out)
        assert isinstance(data, bytes) and data[offset:offset + len(magic)] == magic, f"{cls.name}: not a {cls.render_media_type}"
        if cls.render_media_type == "image/png":
            import io

            from PIL import Image

            assert Image.open(io.BytesIO(data)).size[0] > 0


def assert_close(a, b, tol=1e-3) -> None:
    """Batched and single runs may differ in the last float bits; everything else must be equal."""
    if isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= tol, (a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_close(a[k], b[k], tol)
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_close(x, y, tol)
    else:
        assert a == b
