"""Every trainer reads --param options the same way (modelbay.ml.options)."""

from dataclasses import dataclass

import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.options import config_from_options


@dataclass
class Config:
    epochs: int = 3
    rate: float = 0.1
    hidden_sizes: tuple[int, ...] = (256,)
    names: tuple[str, ...] = ()
    shuffle: bool = True
    resume: bool | str = False


def test_values_are_converted_to_their_field_types():
    c = config_from_options(Config, {"epochs": "5", "rate": 1, "hidden_sizes": [64, "32"], "names": "id",
                                     "shuffle": "no", "resume": "runs/x/checkpoint-9"})
    assert c == Config(epochs=5, rate=1.0, hidden_sizes=(64, 32), names=("id",), shuffle=False,
                       resume="runs/x/checkpoint-9")
    assert config_from_options(Config, {"names": ""}).names == ()


@pytest.mark.parametrize(("options", "needle"), [
    ({"epoch": 3}, "unknown training option(s) epoch for the test; known: epochs, hidden_sizes, method"),
    ({"epochs": "many"}, "epochs='many': expected int"),
    ({"shuffle": "maybe"}, "shuffle='maybe': expected bool"),
])
def test_bad_options_name_themselves(options, needle):
    with pytest.raises(BadInput) as info:
        config_from_options(Config, options, what="the test", also_known=("method",))
    assert needle in str(info.value)
