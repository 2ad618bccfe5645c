"""Entity linking end to end: the CLDR default, a table trained into the store and run by name (CLI, HTTP), eval."""

import json

import pytest
from typer.testing import CliRunner

from modelbay.cli import app

pytestmark = pytest.mark.models("entity-linking")

TABLE = """id,name,aliases,description,type
P1,iPhone 15 Pro,苹果15 Pro|iphone15pro,Apple smartphone from 2023,product
P2,Galaxy S24,三星S24|Samsung S24,Samsung smartphone from 2024,product
P3,ThinkPad X1 Carbon,联想X1|X1 Carbon,Lenovo business laptop,product
"""


@pytest.fixture(scope="module")
def countries(loaded_task):
    return loaded_task("entity-linking")


def test_default_model_links_country_names_in_english_and_chinese(countries):
    (out,) = countries([countries.coerce("Flights from Germany to 日本 and 美國 are cheap; Atlantis is not a country.")])
    assert [(k.text, k.entity_id) for k in out.links] == [("Germany", "DE"), ("日本", "JP"), ("美國", "US")]
    assert out.links[1].name == "Japan" and out.links[1].type == "country or territory"


def test_given_mentions_link_or_are_nil(countries):
    item = countries.coerce({"text": "From Frnace to Atlantis", "mentions": ["Frnace", {"start": 15, "end": 23}]})
    (out,) = countries([item])
    assert out.links[0].entity_id == "FR" and out.links[1].entity_id is None
    with pytest.raises(Exception, match="not in the text"):
        countries([countries.coerce({"text": "Paris", "mentions": ["London"]})])


def test_train_a_table_then_run_evaluate_and_serve_it_by_name(fresh_settings, tmp_path):
    data = tmp_path / "products.csv"
    data.write_text(TABLE, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["train", "entity-linking", "--data", str(data), "--name", "products",
                                 "--param", "embedder=none", "--json"])
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    assert trained["model"] == "products@1" and trained["card"]["data"]["n_entities"] == 3

    result = runner.invoke(app, ["run", "products", "--json", "我想换成三星S24或者Thinkpad X1 Carbon"])
    assert result.exit_code == 0, result.output
    (out,) = json.loads(result.output)
    assert [link["entity_id"] for link in out["links"]] == ["P2", "P3"]

    gold = tmp_path / "mentions.csv"
    gold.write_text("text,entity_id\niphone 15 pro,P1\nGalaxy S42,P2\nPixel 8,NIL\n联想X1,P3\n", encoding="utf-8")
    result = runner.invoke(app, ["eval", "products", "--data", str(gold), "--no-report", "--bootstrap", "0", "--json"])
    assert result.exit_code == 0, result.output
    assert '"accuracy": 1.0' in result.output.replace(" ", " ")

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        response = client.post("/v1/tasks/entity-linking", json={"inputs": ["我想换成三星S24或者Thinkpad X1 Carbon"],
                                                                  "model": "products"})
        assert response.status_code == 200, response.text
        assert response.json()["outputs"] == [out]


@pytest.mark.slow
def test_embeddings_link_a_name_written_in_another_language(fresh_settings, tmp_path):
    from modelbay.core.loading import load_task
    from modelbay.train.publish import train_to_store

    data = tmp_path / "products.csv"
    data.write_text(TABLE, encoding="utf-8")
    artifact = train_to_store("entity-linking", "products", data, {})
    assert artifact.ref == "products@1"
    linker = load_task("entity-linking", "products")
    (out,) = linker([linker.coerce({"text": "the Samsung Galaxy phone from 2024", "find": "text", "threshold": 0.3})])
    assert out.links[0].entity_id == "P2"
    assert out.links[0].candidates[0].score > out.links[0].candidates[1].score
