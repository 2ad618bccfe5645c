"""Model references: one grammar, one canonical spelling per model, malformed ones refused with the rule."""

import json

import pytest

from modelbay.core.catalog import canonical_ref, get_spec
from modelbay.core.errors import BadInput, ModelNotFound
from modelbay.core.refs import parse_ref
from modelbay.core.store import ArtifactStore


@pytest.mark.parametrize(("ref", "parsed"), [
    ("intent", ("intent", None)),
    ("intent@1", ("intent", 1)),
    ("intent@01", ("intent", 1)),
    ("intent@001", ("intent", 1)),
    ("intent@120", ("intent", 120)),
    ("a.b_c-9@7", ("a.b_c-9", 7)),
])
def test_references_parse_to_a_name_and_an_int_version(ref, parsed):
    assert parse_ref(ref) == parsed


@pytest.mark.parametrize(("ref", "says"), [
    ("@1", "no model name before '@'"),
    ("@", "no model name before '@'"),
    ("x@", "whole number from 1"),
    ("x@0", "whole number from 1"),
    ("x@000", "whole number from 1"),
    ("x@-1", "whole number from 1"),
    ("x@+1", "whole number from 1"),
    ("x@²", "whole number from 1"),  # str.isdigit() accepts it, int() does not
    ("x@١", "whole number from 1"),  # an Arabic-Indic one: int() would accept it
    ("x@ 1", "whole number from 1"),
    ("x@1@2", "whole number from 1"),
    ("x@latest", "whole number from 1"),
    ("x@" + "9" * 10, "whole number from 1"),
    ("X@1", "lowercase"),
    ("a b@1", "lowercase"),
])
def test_malformed_references_are_a_422_naming_the_rule(ref, says):
    with pytest.raises(BadInput, match=says) as caught:
        parse_ref(ref)
    assert caught.value.status_code == 422


def _publish(name, card=None):
    store = ArtifactStore()
    with store.new_version(name, "text-classification") as staged:
        (staged.path / "model_card.json").write_text(json.dumps(card or {}))
    return staged.ref


def test_every_spelling_of_a_trained_model_has_one_canonical_reference(fresh_settings):
    _publish("intent")
    _publish("intent")
    assert {canonical_ref(r) for r in ("intent@1", "intent@01", "intent@001", "intent")} == {"intent@1"}
    assert canonical_ref("intent@2") == canonical_ref("intent@0002") == "intent@2"
    ArtifactStore().promote("intent@2")
    assert canonical_ref("intent") == "intent@2"  # a bare name follows the promotion
    assert canonical_ref("sentiment-vader") == "sentiment-vader"


def test_a_trained_spec_is_named_by_its_canonical_reference_and_listed_by_its_bare_name(fresh_settings):
    from modelbay.core.catalog import list_models

    _publish("intent")
    assert get_spec("intent").name == get_spec("intent@01").name == "intent@1"
    assert "intent" in {s.name for s in list_models()}


def test_references_without_a_name_or_with_a_bad_version_never_reach_a_model(fresh_settings):
    _publish("intent")
    for ref in ("@1", "intent@²", "intent@0", "intent@1@2"):
        with pytest.raises(BadInput):
            get_spec(ref)
        with pytest.raises(BadInput):
            canonical_ref(ref)
    with pytest.raises(ModelNotFound, match="versions: 1"):
        get_spec("intent@2")
    with pytest.raises(ModelNotFound, match="known: .*sentiment-vader"):
        canonical_ref("no-such-model")
    with pytest.raises(ModelNotFound, match="known: "):  # not a name a model can have: not found, not malformed
        get_spec("Sentiment-Vader")
