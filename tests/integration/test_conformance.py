"""Every registered task passes the same checks with its default model (real weights)."""

import pytest

from modelbay.core.errors import BadInput
from modelbay.core.registry import all_tasks

TASKS = all_tasks()


@pytest.fixture(scope="module")
def loaded():
    from modelbay.core.loading import load_task

    cache = {}

    def get(cls):
        if cls.name not in cache:
            cache[cls.name] = load_task(cls.name)
        return cache[cls.name]

    return get


@pytest.mark.parametrize("cls", TASKS, ids=lambda c: c.name)
def test_examples_round_trip_through_the_schema(cls):
    for example in cls.examples():
        item = cls.coerce(example)
        again = cls.Input.model_validate_json(item.model_dump_json())
        assert again == item


@pytest.mark.parametrize("cls", TASKS, ids=lambda c: c.name)
def test_batch_of_one_and_of_n_agree_and_lengths_match(cls, loaded):
    task = loaded(cls)
    items = [cls.coerce(e) for e in cls.examples()]
    together = task(items)
    assert len(together) == len(items)
    alone = [task([item])[0] for item in items]
    for a, b in zip(together, alone):
        assert isinstance(a, cls.Output)
        _assert_close(a.model_dump(), b.model_dump())


@pytest.mark.parametrize("cls", TASKS, ids=lambda c: c.name)
def test_wrong_type_gives_a_clear_error(cls):
    with pytest.raises(BadInput) as info:
        cls.coerce({cls.primary_field: 12345})
    assert cls.primary_field in str(info.value)


@pytest.mark.parametrize("cls", TASKS, ids=lambda c: c.name)
def test_outputs_serialise_to_json(cls, loaded):
    task = loaded(cls)
    out = task([cls.coerce(cls.examples()[0])])[0]
    assert cls.Output.model_validate_json(out.model_dump_json()) == out
    assert isinstance(out.summary(), str) and out.summary()


def _assert_close(a, b, tol=1e-3):
    """Batched and single runs may differ in the last float bits; everything else must be equal."""
    if isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= tol, (a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_close(a[k], b[k], tol)
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_close(x, y, tol)
    else:
        assert a == b
