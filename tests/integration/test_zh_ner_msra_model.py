"""The MSRA-trained Chinese CRF (ner-zh-msra) ships, verifies and tags MSRA-style news text."""

import pytest

pytestmark = pytest.mark.models("ner")


def test_msra_model_finds_people_places_and_long_organisations(loaded_task):
    ner = loaded_task("ner", "ner-zh-msra")
    text = "中国人民银行行长周小川在上海出席了国际货币基金组织的会议。"
    (out,) = ner([ner.coerce(text)])
    found = {(e.text, e.label) for e in out.entities}
    assert {("周小川", "PER"), ("上海", "LOC")} <= found
    assert any(e.label == "ORG" and e.text.startswith("中国人民银行") for e in out.entities)
    assert all(text[e.start:e.end] == e.text and 0 < e.score <= 1 for e in out.entities)


def test_its_files_match_the_catalog_checksums(fresh_settings):
    from modelbay.core.catalog import resolve
    from modelbay.core.catalog.verify import verify

    assert verify(resolve("ner-zh-msra")) == {"crf.json": "ok", "model_card.json": "ok", "ner.crfsuite": "ok"}
