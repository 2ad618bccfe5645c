"""Full fine-tuning (`--param method=finetune`) of a tiny BERT built here: train, run by name, resume, options.

The base model is built in a temp directory (vocabulary = the words of the data), so these
tests need no download and each fine-tune takes a few seconds on a CPU.
"""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from modelbay.cli import app

ROWS = {
    "billing": ["my card was charged twice", "refund the double charge", "an extra fee on my invoice",
                "the payment went through twice", "you overcharged my card", "refund my money for the invoice"],
    "delivery": ["my parcel has not arrived", "where is my package", "the courier never showed up",
                 "my order is stuck in transit", "the box arrived damaged", "the parcel is late again"],
}


@pytest.fixture
def tiny_bert(tmp_path):
    """A 1-layer BERT (hidden size 32) whose vocabulary is the words of ROWS: a local checkpoint directory."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = sorted({w for texts in ROWS.values() for t in texts for w in t.split()} | {"it", "my"})
    base = tmp_path / "tiny-bert"
    base.mkdir()
    (base / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]))
    tokenizer = BertTokenizerFast.from_pretrained(base)  # reads vocab.txt (transformers 5 ignores vocab_file=)
    assert "[UNK]" not in tokenizer.tokenize(ROWS["billing"][0])
    tokenizer.save_pretrained(base)
    config = BertConfig(vocab_size=len(words) + 5, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(base)
    return base


@pytest.fixture
def tickets(tmp_path):
    path = tmp_path / "tickets.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["message", "intent"])
        for _ in range(3):
            for label, texts in ROWS.items():
                writer.writerows([t, label] for t in texts)
    return path


def _train(runner, tickets, name, *params):
    args = ["train", "text-classification", "--data", str(tickets), "--name", name, "--text-col", "message",
            "--label-col", "intent", "--json", "--param", "method=finetune"]
    for p in params:
        args += ["--param", p]
    return runner.invoke(app, args)


@pytest.mark.slow  # ~15 s: a CLI fine-tune of 6 epochs, then a CLI run
def test_finetune_saves_a_model_that_runs_by_name(fresh_settings, tiny_bert, tickets):
    runner = CliRunner()
    result = _train(runner, tickets, "intent-ft", f"base={tiny_bert}", "epochs=6", "learning_rate=0.005",
                    "batch_size=8", "max_length=16", "patience=6", "best_metric=loss", "augment=1", "dropout=0.0",
                    "class_weights=balanced", "label_smoothing=0.05", "gradient_accumulation=2", "language=en",
                    "fp16=true")
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    card = trained["card"]
    assert trained["model"] == "intent-ft@1"
    assert card["options"] == {"backend": "transformer"} and card["labels"] == ["billing", "delivery"]
    assert card["config"]["class_weights"] == "balanced" and card["config"]["label_smoothing"] == 0.05
    assert card["data"]["n_train_augmented"] > 0 and len(card["data"]["file_sha256"]) == 64
    assert card["training"]["device"] == "cpu" and card["training"]["steps"] > 0 and card["languages"] == ["en"]
    assert any("fp16" in note and "no GPU" in note for note in card["training"]["notes"])  # respected, not applied
    assert card["data"]["n_train"] + card["data"]["n_validation"] == 36  # copies only in the training split
    assert set(card["metrics"]["validation"]) >= {"accuracy", "macro_f1", "confusion_matrix"}

    from modelbay.core.store import ArtifactStore

    files = {p.name for p in ArtifactStore().get("intent-ft").path.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "model_card.json"} <= files
    assert not (fresh_settings().home / "runs" / "intent-ft").exists()  # checkpoints go once the model is saved

    texts = [t for label in ROWS for t in ROWS[label]]
    result = runner.invoke(app, ["run", "intent-ft", "--json", *texts])
    assert result.exit_code == 0, result.output
    predicted = [o["label"] for o in json.loads(result.output)]
    truth = [label for label in ROWS for _ in ROWS[label]]
    assert sum(p == t for p, t in zip(predicted, truth)) >= 10, predicted


def test_an_interrupted_run_resumes_from_its_last_checkpoint(fresh_settings, tiny_bert, tickets, tmp_path):
    from modelbay.core.errors import BadInput
    from modelbay.tasks.text_classification.task import TextClassification

    options = {"method": "finetune", "base": str(tiny_bert), "text_col": "message", "label_col": "intent",
               "epochs": 3, "batch_size": 8, "max_length": 16, "patience": 5}
    seen = []

    def stop_in_epoch_two(stage, done, total):
        seen.append(done)
        if done > total // 3 + 1:
            raise KeyboardInterrupt  # what a cancelled job or Ctrl-C does between steps

    with pytest.raises(KeyboardInterrupt):
        TextClassification.fit(tickets, tmp_path / "out1", options, progress=stop_in_epoch_two, name="resumable")
    run_dir = fresh_settings().home / "runs" / "resumable"
    checkpoints = sorted(run_dir.glob("checkpoint-*"))
    assert checkpoints, list(run_dir.iterdir())
    saved_step = int(checkpoints[-1].name.split("-")[1])

    resumed = []
    card = TextClassification.fit(tickets, tmp_path / "out2", {**options, "resume": True},
                                  progress=lambda stage, done, total: resumed.append((done, total)), name="resumable")
    assert card["training"]["resumed_from"] == f"checkpoint-{saved_step}"
    total = card["training"]["steps"]
    assert total > saved_step
    # after the stage's opening (0, total), the step count goes on from the checkpoint, not from 0
    assert resumed[1:] == [(step, total) for step in range(saved_step, total + 1)]
    with pytest.raises(BadInput, match="no checkpoint"):  # a finished run leaves nothing to resume
        TextClassification.fit(tickets, tmp_path / "out3", {**options, "resume": True}, name="resumable")


def test_unknown_options_and_bad_bases_are_named(fresh_settings, tiny_bert, tickets, tmp_path):
    runner = CliRunner()
    result = _train(runner, tickets, "x", f"base={tiny_bert}", "learnin_rate=0.1")
    assert result.exit_code == 2 and "learnin_rate" in result.output and "learning_rate" in result.output
    result = _train(runner, tickets, "x", "base=sentiment-vader")
    assert result.exit_code == 2 and "config.json" in result.output
    result = _train(runner, tickets, "x", f"base={tiny_bert}", "class_weights=inverse")
    assert result.exit_code == 2 and "class_weights" in result.output
    result = _train(runner, tickets, "x", "base=nobody/no-such-model")
    assert result.exit_code == 2 and "offline" in result.output
    result = runner.invoke(app, ["train", "text-classification", "--data", str(tickets), "--name", "x",
                                 "--text-col", "message", "--label-col", "intent", "--param", "method=lora"])
    assert result.exit_code == 2 and "lora" in result.output and "finetune" in result.output
    from modelbay.core.store import ArtifactStore

    assert ArtifactStore().list() == []


def test_class_weights_and_label_smoothing_reach_the_loss():
    import torch

    from modelbay.tasks.text_classification.finetune import make_loss

    logits = torch.tensor([[2.0, -1.0], [0.5, 0.3], [-1.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    plain = make_loss()({"logits": logits}, labels)
    assert torch.isclose(plain, torch.nn.functional.cross_entropy(logits, labels))
    weighted = make_loss([3.0, 0.5])({"logits": logits}, labels, num_items_in_batch=3)
    per_item = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    assert torch.isclose(weighted, (per_item * torch.tensor([3.0, 0.5, 0.5])).sum() / 3)
    smoothed = make_loss(None, 0.2)({"logits": logits}, labels)
    assert torch.isclose(smoothed, torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.2))
    assert smoothed > plain  # confident right answers cost more once smoothed
