"""Entity extraction: the default model in English and Chinese, and training both kinds from the CLI."""

import json

import pytest
from typer.testing import CliRunner

from modelbay.cli import app

pytestmark = pytest.mark.models("ner")


@pytest.fixture(scope="module")
def ner(loaded_task):
    return loaded_task("ner")


def _found(output):
    return {(e.text, e.label) for e in output.entities}


def test_default_model_finds_people_places_and_organisations_in_english(ner):
    text = "Tim Cook visited Paris with engineers from Apple on Monday."
    (out,) = ner([ner.coerce(text)])
    assert {("Tim Cook", "PER"), ("Paris", "LOC"), ("Apple", "ORG")} <= _found(out)
    assert ("Monday", "DATE") in _found(out)  # spaCy's other labels keep their names
    for e in out.entities:
        assert text[e.start:e.end] == e.text


def test_default_model_routes_chinese_to_the_crf(ner):
    text = "国务院总理李鹏在北京会见了美国客人。"
    (out,) = ner([ner.coerce(text)])
    assert {("李鹏", "PER"), ("北京", "LOC"), ("美国", "LOC")} <= _found(out)
    assert all(text[e.start:e.end] == e.text and 0 < e.score <= 1 for e in out.entities)
    # a mixed batch: each item goes to its language's model, in order
    outs = ner([ner.coerce("江泽民在北京会见了克林顿"), ner.coerce("Angela Merkel met Emmanuel Macron in Berlin.")])
    assert {("江泽民", "PER"), ("北京", "LOC"), ("克林顿", "PER")} <= _found(outs[0])
    assert {("Angela Merkel", "PER"), ("Emmanuel Macron", "PER"), ("Berlin", "LOC")} <= _found(outs[1])


def test_language_field_overrides_the_script_guess(ner):
    from modelbay.tasks.ner.task import detect_language

    assert detect_language("Tim Cook在北京") == "zh" and detect_language("Visit 北京 today, friends") == "en"
    (out,) = ner([ner.coerce({"text": "李鹏在北京", "language": "en"})])
    assert all(e.score is None for e in out.entities)  # answered by spaCy, which gives no scores


ZH_LINES = [
    "国务院/nt  总理/n  李/nr  鹏/nr  在/p  北京/ns  会见/v  了/u  美国/ns  客人/n  。/w",
    "新华社/nt  记者/n  张/nr  伟/nr  报道/v  ，/w  上海/ns  举行/v  了/u  会议/n  。/w",
    "[中国/ns  人民/n  银行/n]nt  行长/n  王/nr  明/nr  抵达/v  广州/ns  。/w",
    "外交部/nt  发言人/n  刘/nr  洋/nr  在/p  南京/ns  说/v  。/w",
    "19980101-01-001-005/m  教育部/nt  部长/n  陈/nr  静/nr  访问/v  天津/ns  。/w",
]


def test_train_a_chinese_crf_from_word_tag_and_run_it_by_name(fresh_settings, tmp_path):
    data = tmp_path / "people_daily.txt"
    data.write_text("\n".join(ZH_LINES * 4) + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["train", "ner", "--data", str(data), "--format", "word/tag", "--language", "zh",
                                 "--name", "ner-zh", "--param", "max_iterations=30", "--json"])
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    card = trained["card"]
    assert trained["model"] == "ner-zh@1" and card["options"]["backend"] == "crf"
    assert card["labels"] == ["LOC", "ORG", "PER"] and len(card["data"]["sha256"]) == 64
    assert card["metrics"]["validation"]["f1"] > 0.5

    result = runner.invoke(app, ["run", "ner-zh", "--json", "外交部部长李鹏访问北京。"])
    assert result.exit_code == 0, result.output
    (out,) = json.loads(result.output)
    assert {(e["text"], e["label"]) for e in out["entities"]} >= {("李鹏", "PER"), ("北京", "LOC")}

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        response = client.post("/v1/tasks/ner", json={"inputs": ["外交部部长李鹏访问北京。"], "model": "ner-zh"})
        assert response.status_code == 200, response.text
        assert response.json()["outputs"] == [out]


def test_bad_training_data_names_the_file_and_line(fresh_settings, tmp_path):
    data = tmp_path / "bad.txt"
    data.write_text(ZH_LINES[0] + "\n" + "李/nr  鹏\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "ner", "--data", str(data), "--format", "word/tag", "--language", "zh",
                                      "--name", "bad"])
    assert result.exit_code != 0 and f"{data.name}:2" in result.output and "word/tag" in result.output


EN_SENTENCES = [
    ("Priya Raman joined Zentrix in Lagos .", ["B-PER", "I-PER", "O", "B-ORG", "O", "B-LOC", "O"]),
    ("Omar Haddad left Quillon Labs for Nairobi .", ["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "O", "B-LOC", "O"]),
    ("Zentrix opened an office in Oslo on Monday .", ["B-ORG", "O", "O", "O", "O", "B-LOC", "O", "O", "O"]),
    ("Lena Park runs Quillon Labs .", ["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "O"]),
]


def test_fine_tune_spacy_on_conll_and_load_it(fresh_settings, tmp_path):
    data = tmp_path / "train.conll"
    data.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(s.split(), tags)) for s, tags in EN_SENTENCES * 3) + "\n")
    runner = CliRunner()
    result = runner.invoke(app, ["train", "ner", "--data", str(data), "--language", "en", "--name", "ner-en",
                                 "--param", "epochs=3", "--json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["options"] == {"backend": "spacy", "pipeline_dir": "pipeline"} and card["base_model"] == "ner-en-spacy-sm"
    assert card["training"]["epochs_run"] <= 3 and "validation" in card["metrics"]

    from modelbay.core.loading import load_task

    tuned = load_task("ner", "ner-en")
    (out,) = tuned([tuned.coerce("Priya Raman opened an office of Zentrix in Oslo.")])
    labels = {e.label for e in out.entities}
    assert labels & {"PER", "ORG", "LOC"} and all(e.end > e.start for e in out.entities)


def test_people_s_daily_is_split_by_position_as_the_shipped_model_was_trained():
    from modelbay.tasks.ner.pd98 import pd98_split

    train, held_out = pd98_split()
    assert (len(train), len(held_out)) == (17536, 1948)  # ner-zh-pd98's card: 1,948 held-out lines
    assert all(r["text"] for r in held_out[:5]) and train[-1]["text"] != held_out[0]["text"]
