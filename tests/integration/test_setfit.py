"""Few-shot training (`--param method=setfit`) on a tiny BERT built here: pairs, training, saving, running by name.

The base model is built in a temp directory (vocabulary = the words of the data) with random
weights, so nothing is downloaded; contrastive fine-tuning must then separate the classes by
itself, which is what these tests check.
"""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from modelbay.cli import app

ROWS = {
    "billing": ["my card was charged twice", "refund the double charge", "an extra fee on my invoice",
                "the payment went through twice", "you overcharged my card", "refund my money for the invoice",
                "a charge I never made", "the invoice total is wrong"],
    "delivery": ["my parcel has not arrived", "where is my package", "the courier never showed up",
                 "my order is stuck in transit", "the box arrived damaged", "the parcel is late again",
                 "tracking shows no update", "the driver left it at the wrong door"],
}
UNSEEN = {"billing": ["refund the charge on my card", "the fee on my invoice is wrong"],
          "delivery": ["my package is late", "the courier left my parcel at the wrong door"]}


@pytest.fixture
def tiny_encoder(tmp_path):
    """A 2-layer BERT (hidden size 32) with random weights; its vocabulary is the words of the data."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = sorted({w for rows in (ROWS, UNSEEN) for texts in rows.values() for t in texts for w in t.split()})
    base = tmp_path / "tiny-encoder"
    base.mkdir()
    (base / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]))
    BertTokenizerFast.from_pretrained(base).save_pretrained(base)
    config = BertConfig(vocab_size=len(words) + 5, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(base)
    return base


def test_contrastive_pairs_balance_same_and_other_labels():
    from modelbay.tasks.text_classification.setfit import contrastive_pairs

    labels = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    pairs = contrastive_pairs(labels, pairs_per_example=5, seed=0)
    assert len(pairs) == 12 * 5 * 2
    assert Counter(t for _, _, t in pairs) == {1.0: 60, 0.0: 60}
    assert all((labels[i] == labels[j]) == (t == 1.0) for i, j, t in pairs)
    assert all(i != j for i, j, t in pairs if t == 1.0)  # a text is never its own positive partner
    assert pairs == contrastive_pairs(labels, pairs_per_example=5, seed=0)  # seeded


def test_setfit_learns_from_eight_examples_per_class_and_runs_by_name(fresh_settings, tiny_encoder, tmp_path):
    data = tmp_path / "few.csv"
    with open(data, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["message", "intent"])
        writer.writerows([t, label] for label, texts in ROWS.items() for t in texts)
    runner = CliRunner()
    result = runner.invoke(app, ["train", "text-classification", "--data", str(data), "--name", "few-intent",
                                 "--text-col", "message", "--label-col", "intent", "--json",
                                 "--param", "method=setfit", "--param", f"base={tiny_encoder}",
                                 "--param", "pairs_per_example=6", "--param", "learning_rate=0.002",
                                 "--param", "epochs=2", "--param", "max_length=16",
                                 # a random tiny encoder's knowledge is in its token embeddings: train them too
                                 "--param", "train_embeddings=true"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["options"] == {"backend": "setfit"} and card["labels"] == ["billing", "delivery"]
    assert card["data"]["examples_per_class"] == {"billing": 8, "delivery": 8}
    assert card["training"]["pairs"] == 16 * 6 * 2 and card["training"]["steps"] == 2 * 12
    assert card["training"]["last_loss"] < card["training"]["first_loss"]
    assert card["config"]["prefix"] == ""  # not an E5 base: no "query: " prefix
    assert card["config"]["train_embeddings"] is True

    texts = [t for label in UNSEEN for t in UNSEEN[label]]
    result = runner.invoke(app, ["run", "few-intent", "--json", *texts])
    assert result.exit_code == 0, result.output
    predicted = [o["label"] for o in json.loads(result.output)]
    assert predicted == [label for label in UNSEEN for _ in UNSEEN[label]]


def test_setfit_options_are_checked(fresh_settings, tiny_encoder, tmp_path):
    from modelbay.core.errors import BadInput
    from modelbay.tasks.text_classification.task import TextClassification

    data = tmp_path / "few.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for lab, ts in ROWS.items() for t in ts))
    with pytest.raises(BadInput, match="unknown training option.*num_iterations"):
        TextClassification.fit(data, tmp_path / "m", {"method": "setfit", "num_iterations": 5})
    with pytest.raises(BadInput, match="pairs_per_example must be >= 1"):
        TextClassification.fit(data, tmp_path / "m", {"method": "setfit", "pairs_per_example": 0})
    with pytest.raises(BadInput, match="not a transformers checkpoint"):
        TextClassification.fit(data, tmp_path / "m", {"method": "setfit", "base": str(tmp_path)})


def test_token_embeddings_stay_frozen_by_default(tiny_encoder, tmp_path):
    import torch
    from transformers import AutoModel

    from modelbay.tasks.text_classification.setfit import SetFitConfig, train_setfit

    records = [{"text": t, "label": label} for label, texts in ROWS.items() for t in texts]
    card = train_setfit(records, tmp_path / "m", SetFitConfig(base=str(tiny_encoder), pairs_per_example=2, max_length=16))
    assert card["training"]["steps"] == 4  # 16 examples x 2 x 2 pairs / batch 16
    before, after = (AutoModel.from_pretrained(p) for p in (tiny_encoder, tmp_path / "m" / "encoder"))
    assert torch.equal(before.get_input_embeddings().weight, after.get_input_embeddings().weight)
    assert not torch.equal(before.encoder.layer[0].attention.self.query.weight, after.encoder.layer[0].attention.self.query.weight)
