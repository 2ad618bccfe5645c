"""Every registered task passes the same checks with its default model (real weights).

The checks are in ``tests/conformance_checks.py`` (the capability template's test runs them too).
The tests run task by task (``cls`` is a module-scoped parametrised fixture), and each task's
model is released once its checks are done, unless a later module declares it: so this module
holds one default model at a time, not every one at once.
"""

import conformance_checks as checks
import pytest

from modelbay.core.registry import all_tasks

TASKS = all_tasks()


@pytest.fixture(scope="module", params=TASKS, ids=lambda c: c.name)
def cls(request):
    return request.param


@pytest.fixture(scope="module")
def task(cls, loaded_task):
    yield loaded_task(cls.name)
    loaded_task.release(cls.name)


def test_examples_round_trip_through_the_schema(cls):
    checks.examples_round_trip_through_the_schema(cls)


def test_batch_of_one_and_of_n_agree_and_lengths_match(cls, task):
    checks.batch_of_one_and_of_n_agree_and_lengths_match(cls, task)


def test_wrong_type_gives_a_clear_error(cls):
    checks.wrong_type_gives_a_clear_error(cls)


def test_outputs_serialise_to_json(cls, task):
    checks.outputs_serialise_to_json(cls, task)


def test_renders_are_media_of_the_declared_type(cls, task):
    checks.renders_are_media_of_the_declared_type(cls, task)
