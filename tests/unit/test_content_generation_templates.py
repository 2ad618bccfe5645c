"""The content template library and the checks of a request's variables, no model."""

import pytest

from modelbay.core.errors import BadInput
from modelbay.core.registry import get_task
from modelbay.tasks.content_generation.templates import Template, get_template, list_templates, template_library

Content = get_task("content-generation")
PRODUCT = {"product_name": "Trail mug", "features": ["steel", "350 ml"]}


def test_every_template_is_valid_and_both_languages_cover_every_kind():
    library = template_library()
    kinds = {(t.kind, t.language) for t in library.values()}
    assert {k for k, _ in kinds} == {"product-description", "marketing-copy", "customer-reply"}
    assert kinds == {(k, lang) for k, _ in kinds for lang in ("en", "zh")}


def test_the_listing_shows_variables_with_types_and_no_prompt():
    listed = {t["name"]: t for t in Content.templates()}
    assert set(listed) == set(template_library())
    assert listed["product-description-en"]["variables"]["features"]["type"] == "list"
    assert "prompt" not in listed["product-description-en"]
    assert {t["language"] for t in list_templates("zh")} == {"zh"}
    assert Content.Input.model_json_schema()["properties"]["template"]["enum"] == sorted(listed)


@pytest.mark.parametrize(("variables", "message"), [
    ({"features": ["steel"]}, "needs variable 'product_name'"),
    ({**PRODUCT, "colour": "red"}, "no variable 'colour'"),
    ({**PRODUCT, "features": "steel"}, "'features' must be a list"),
    ({**PRODUCT, "max_words": True}, "'max_words' must be an integer"),
    ({**PRODUCT, "max_words": "80"}, "'max_words' must be an integer"),
    ({**PRODUCT, "product_name": "  "}, "'product_name' is blank"),
    ({**PRODUCT, "product_name": "x" * 201}, "'product_name' is longer than 200"),
])
def test_bad_variables_are_422_naming_the_variable(variables, message):
    with pytest.raises(BadInput, match=message) as err:
        Content.coerce({"template": "product-description-en", "variables": variables})
    assert err.value.status_code == 422


def test_an_unknown_template_lists_the_known_ones():
    with pytest.raises(BadInput, match="customer-reply-en, customer-reply-zh"):
        Content.coerce({"template": "press-release"})


def test_defaults_fill_optional_variables_and_lists_join_in_the_template_language():
    item = Content.coerce({"template": "product-description-zh", "variables": {"product_name": "保温杯", "features": ["不锈钢", "350毫升"]}})
    assert item.variables["max_chars"] == 150
    prompt = item.messages()[-1]["content"]
    assert "不锈钢、350毫升" in prompt and "不超过150字" in prompt
    english = Content.coerce({"template": "product-description-en", "variables": PRODUCT}).messages()
    assert english[0]["role"] == "system" and "Features: steel, 350 ml." in english[1]["content"]


def test_a_template_whose_prompt_uses_an_undeclared_variable_is_rejected():
    with pytest.raises(ValueError, match="colour"):
        Template.model_validate({"name": "t", "language": "en", "kind": "k", "description": "d",
                                 "variables": {"a": {"type": "string", "description": "a"}}, "prompt": "{a} {colour}"})
    with pytest.raises(ValueError, match="needs a default"):
        Template.model_validate({"name": "t", "language": "en", "kind": "k", "description": "d", "prompt": "{a}",
                                 "variables": {"a": {"type": "string", "description": "a", "required": False}}})
    assert get_template("customer-reply-en").language == "en"
