"""Entity linking without a neural model: the table format, fuzzy string linking, NIL, mention finding."""

import json

import pytest

from modelbay.core.errors import BadInput, ModelUnavailable
from modelbay.tasks.entity_linking.linker import Linker
from modelbay.tasks.entity_linking.table import (
    EntityModel,
    LinkerConfig,
    read_entity_model,
    read_entity_table,
    write_entity_model,
)
from modelbay.tasks.entity_linking.train import config_from

TABLE = """id,name,aliases,description,type
P1,iPhone 15 Pro,苹果15 Pro|iphone15pro,Apple smartphone 2023,product
P2,Galaxy S24,三星S24|Samsung S24,Samsung smartphone 2024,product
C1,Acme Corporation,Acme|艾克米公司,maker of anvils,company
"""


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "entities.csv"
    path.write_text(TABLE, encoding="utf-8")
    return read_entity_table(path)


@pytest.fixture
def linker(table):
    return Linker(EntityModel(table, LinkerConfig(embedder=None, nil_threshold=0.75)))


def test_table_reads_aliases_split_on_bars_and_keeps_order(table):
    assert [e.id for e in table] == ["P1", "P2", "C1"]
    assert table[0].aliases == ("苹果15 Pro", "iphone15pro") and table[2].type == "company"
    assert table[0].passage().startswith("iPhone 15 Pro / 苹果15 Pro")


def test_table_without_ids_or_with_duplicate_ids_is_refused(tmp_path):
    no_id = tmp_path / "a.csv"
    no_id.write_text("name\nfoo\n", encoding="utf-8")
    with pytest.raises(BadInput, match="'id' and a 'name'"):
        read_entity_table(no_id)
    dup = tmp_path / "b.jsonl"
    dup.write_text('{"id": "x", "name": "a"}\n{"id": "x", "name": "b", "aliases": ["c"]}\n', encoding="utf-8")
    with pytest.raises(BadInput, match="duplicate entity id 'x'"):
        read_entity_table(dup)


def test_exact_aliases_link_in_chinese_and_english_any_case(linker):
    text = "我买了三星S24，他买了IPHONE15PRO。"
    links = linker.link(text, linker.find_mentions(text))
    assert [(k["text"], k["entity_id"], k["score"]) for k in links] == [("三星S24", "P2", 1.0), ("IPHONE15PRO", "P1", 1.0)]


def test_a_misspelt_name_links_by_fuzzy_score_and_an_unknown_one_is_nil(linker):
    text = "Acme Corporaton shipped a Pixel 8"
    typo, unknown = linker.link(text, [(0, 15), (26, 33)])
    assert typo["entity_id"] == "C1" and 0.75 <= typo["score"] < 1
    assert unknown["entity_id"] is None and unknown["name"] is None
    assert unknown["candidates"] and unknown["score"] < 0.75  # the best guesses are still listed


def test_the_threshold_decides_nil(linker):
    text = "Galaxy S23"
    (strict,) = linker.link(text, [(0, 10)], threshold=0.95)
    (loose,) = linker.link(text, [(0, 10)], threshold=0.5)
    assert strict["entity_id"] is None and loose["entity_id"] == "P2"


def test_latin_names_are_found_only_as_whole_words(linker):
    assert linker.find_mentions("Acmeville has no Acme store") == [(17, 21)]
    assert linker.find_mentions("艾克米公司在上海") == [(0, 5)]


def test_model_directory_round_trips(tmp_path, table):
    import numpy as np

    vectors = np.eye(3, 4, dtype=np.float32)
    write_entity_model(tmp_path, table, LinkerConfig(nil_threshold=0.9), vectors)
    model = read_entity_model(tmp_path)
    assert model.entities == table and model.config.nil_threshold == 0.9
    assert np.array_equal(model.vectors, vectors)
    (tmp_path / "linker.json").write_text(json.dumps({"format": "other/1"}), encoding="utf-8")
    with pytest.raises(ModelUnavailable, match="format is not modelbay.entity-table/1"):
        read_entity_model(tmp_path)


def test_options_from_the_cli_are_converted_and_unknown_ones_refused():
    config = config_from({"embedder": "none", "nil_threshold": "0.6", "candidates": "5"})
    assert config.embedder is None and config.nil_threshold == 0.6 and config.candidates == 5
    with pytest.raises(BadInput, match="unknown entity-linking option"):
        config_from({"treshold": "0.5"})
    with pytest.raises(BadInput, match="between 0 and 1 and temperature above 0"):
        config_from({"nil_threshold": "2"})


def test_embedding_scores_pick_the_nearest_entity_when_strings_do_not_match(table):
    import numpy as np

    # an encoder of two fixed directions: a real component (numpy) standing in for e5's geometry
    vectors = np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32)
    config = LinkerConfig(embedder="fixed", nil_threshold=0.5, temperature=0.1)
    fixed = Linker(EntityModel(table, config, vectors), encode=lambda texts: np.array([[0.0, 1.0]] * len(texts)))
    (link,) = fixed.link("那款韩国手机", [(0, 6)])
    assert link["entity_id"] == "P2" and [c["id"] for c in link["candidates"]][:2] == ["P2", "C1"]
