import pytest

from modelbay.core.errors import BadInput
from modelbay.core.task import Task, TaskInput, TaskOutput


class EchoIn(TaskInput):
    text: str


class EchoOut(TaskOutput):
    text: str


class Echo(Task[EchoIn, EchoOut]):
    name = "echo"
    Input = EchoIn
    Output = EchoOut
    default_model = "none"

    def _forward(self, batch):
        return [EchoOut(text=i.text) for i in batch]


class Broken(Echo):
    def _forward(self, batch):
        return [EchoOut(text="only one")]


def test_coerce_accepts_bare_values_dicts_and_models():
    assert Echo.coerce("hi").text == "hi"
    assert Echo.coerce({"text": "hi"}).text == "hi"
    assert Echo.coerce(EchoIn(text="hi")).text == "hi"


def test_coerce_rejects_wrong_types_and_unknown_fields_with_a_message():
    with pytest.raises(BadInput, match="text"):
        Echo.coerce({"text": 3})
    with pytest.raises(BadInput, match="nonsense"):
        Echo.coerce({"text": "a", "nonsense": 1})
    with pytest.raises(BadInput, match="expected a string"):
        Echo.coerce(3.5)


def test_batch_contract_is_checked_at_run_time():
    assert [o.text for o in Echo()([EchoIn(text="a"), EchoIn(text="b")])] == ["a", "b"]
    assert Echo()([]) == []
    with pytest.raises(RuntimeError, match="1 outputs for 2 inputs"):
        Broken()([EchoIn(text="a"), EchoIn(text="b")])
