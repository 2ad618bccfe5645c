import pytest

from modelbay.core.errors import UnknownTask
from modelbay.core.registry import all_tasks, get_task, task_names


def test_builtin_tasks_are_registered():
    names = task_names()
    for expected in ("sentiment", "text-classification", "embeddings"):
        assert expected in names


def test_aliases_and_spelling_resolve_to_the_same_task():
    assert get_task("sentiment-analysis") is get_task("sentiment")
    assert get_task("Sentiment") is get_task("sentiment")
    assert get_task("text_classification").name == "text-classification"


def test_unknown_task_lists_valid_names():
    with pytest.raises(UnknownTask) as info:
        get_task("sentimnt")
    message = str(info.value)
    assert "sentimnt" in message and "sentiment" in message and "embeddings" in message
    assert isinstance(info.value, KeyError)  # behaves like a dict lookup for Python callers


@pytest.mark.parametrize("cls", all_tasks(), ids=lambda c: c.name)
def test_every_task_declares_the_contract(cls):
    assert cls.name and cls.description and cls.default_model
    assert cls.primary_field in cls.Input.model_fields
    assert set(cls.media_fields) <= set(cls.Input.model_fields)
    assert len(cls.examples()) >= 2
    cls.Input.model_json_schema()
    cls.Output.model_json_schema()


def test_listing_tasks_does_not_import_torch():
    import subprocess
    import sys

    code = "import modelbay, sys; modelbay.list_tasks(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
