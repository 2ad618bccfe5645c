"""Train an image classifier on a folder per class (synthetic shapes drawn here); it runs by name and serves."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput

pytest.importorskip("efficientnet_lite_pytorch")

CLASSES = ("disc", "square", "stripes")
FAST = ["--param", "image_size=64", "--param", "max_epochs=30", "--param", "augment_copies=1"]


def draw(kind: str, rnd: random.Random):
    """A red disc, a blue square or green vertical stripes, at a random place and size on a light background."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (80, 64), (rnd.randint(200, 255),) * 3)
    pen = ImageDraw.Draw(img)
    side = rnd.randint(18, 28)
    x, y = rnd.randint(2, 78 - side), rnd.randint(2, 62 - side)
    if kind == "disc":
        pen.ellipse((x, y, x + side, y + side), fill=(rnd.randint(180, 240), 30, 30))
    elif kind == "square":
        pen.rectangle((x, y, x + side, y + side), fill=(30, 30, rnd.randint(180, 240)))
    else:
        for k in range(rnd.randint(0, 5), 80, 10):
            pen.line((k, 0, k, 64), fill=(20, rnd.randint(120, 200), 20), width=4)
    return img


def make_folder(root: Path, per_class: int, seed: int, fmt: str = "png") -> Path:
    rnd = random.Random(seed)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw(kind, rnd).save(root / kind / f"{kind}-{i}.{fmt}")
    return root


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    root = make_folder(tmp_path_factory.mktemp("shapes") / "train", 8, seed=0)
    (root / ".DS_Store").write_bytes(b"\0junk")             # hidden: skipped
    (root / "disc" / "notes.txt").write_text("not an image")  # not an image: skipped and listed
    return root


@pytest.fixture(scope="module")
def held_out(tmp_path_factory) -> list[tuple[Path, str]]:
    root = make_folder(tmp_path_factory.mktemp("held-out"), 2, seed=99, fmt="jpg")
    return [(p, p.parent.name) for p in sorted(root.rglob("*.jpg"))]


def test_train_run_by_name_and_serve(fresh_settings, shapes, held_out):
    runner = CliRunner()
    result = runner.invoke(app, ["train", "image-classification", "--data", str(shapes), "--name", "shapes", *FAST, "--json"])
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    card = trained["card"]
    assert trained["model"] == "shapes@1" and card["name"] == "shapes" and card["task"] == "image-classification"
    assert card["labels"] == list(CLASSES) and card["options"] == {"backend": "transfer-head", "base": "efficientnet-lite0"}
    data = card["data"]
    assert data["counts"] == {k: 8 for k in CLASSES} and data["n_train"] + data["n_validation"] == 24
    assert data["skipped_files"] == ["disc/notes.txt"] and len(data["sha256"]) == 64 and data["split_seed"] == 0
    assert card["config"]["image_size"] == 64 and card["metrics"]["training_seconds"] > 0
    assert card["metrics"]["validation"]["accuracy"] >= 2 / 3 and "macro_f1" in card["metrics"]["validation"]
    assert list((fresh_settings().cache_dir / "image-features").rglob("shard-*.npz"))  # features kept for a retrain

    paths = [str(p) for p, _ in held_out]
    result = runner.invoke(app, ["run", "shapes", "--json", *paths])
    assert result.exit_code == 0, result.output
    outputs = json.loads(result.output)
    assert [o["labels"][0]["label"] for o in outputs] == [label for _, label in held_out]
    for out in outputs:  # every class, best first; index = position in the model's labels
        assert [x["index"] for x in out["labels"]] == [CLASSES.index(x["label"]) for x in out["labels"]]
        assert len(out["labels"]) == 3 and sum(x["score"] for x in out["labels"]) == pytest.approx(1, abs=1e-4)

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    body = {"inputs": [base64.b64encode(p.read_bytes()).decode() for p, _ in held_out], "model": "shapes"}
    with TestClient(create_app()) as client:
        response = client.post("/v1/tasks/image-classification", json=body)
        assert response.status_code == 200, response.text
        served = response.json()["outputs"]
    assert [o["labels"][0]["label"] for o in served] == [o["labels"][0]["label"] for o in outputs]
    assert [o["labels"][0]["score"] for o in served] == pytest.approx([o["labels"][0]["score"] for o in outputs], abs=1e-4)


def test_unfreeze_stage_fine_tunes_the_last_blocks(fresh_settings, shapes, held_out):
    from modelbay.core.loading import load_task

    runner = CliRunner()
    result = runner.invoke(app, ["train", "image-classification", "--data", str(shapes), "--name", "shapes-ft", *FAST,
                                 "--param", "unfreeze_epochs=2", "--param", "unfreeze_blocks=1", "--json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    fine_tune = card["training"]["fine_tune"]
    assert fine_tune["epochs_run"] == 2 and [h["epoch"] for h in fine_tune["history"]] == [0, 1, 2]
    from modelbay.core.store import ArtifactStore

    model_dir = ArtifactStore().get("shapes-ft").path
    # the fine-tuned tensors are saved exactly when a fine-tuned epoch beat the frozen one on validation
    assert (model_dir / "backbone.pt").is_file() == (fine_tune["best_epoch"] > 0)
    clf = load_task("image-classification", "shapes-ft")
    outs = clf([clf.coerce(p, allow_paths=True) for p, _ in held_out])
    assert [clf.prediction(o) for o in outs] == [label for _, label in held_out]


def test_fine_tuned_tensors_are_laid_over_the_base(tmp_path):
    import torch

    from modelbay.core.catalog import resolve
    from modelbay.tasks.image_classification.model import load_efficientnet

    weights = resolve("efficientnet-lite0").file("efficientnet-lite0-57934424.pth")
    base = load_efficientnet(weights)
    delta = {"_conv_head.weight": torch.zeros_like(base.state_dict()["_conv_head.weight"])}
    torch.save(delta, tmp_path / "backbone.pt")
    tuned = load_efficientnet(weights, fine_tuned=tmp_path / "backbone.pt")
    assert float(tuned.state_dict()["_conv_head.weight"].abs().sum()) == 0.0
    assert torch.equal(tuned.state_dict()["_bn1.weight"], base.state_dict()["_bn1.weight"])
    torch.save({"_not_a_layer.weight": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="_not_a_layer"):
        load_efficientnet(weights, fine_tuned=tmp_path / "bad.pt")


def test_a_corrupt_image_is_named(fresh_settings, tmp_path):
    root = make_folder(tmp_path / "data", 3, seed=1)
    good = (root / "square" / "square-0.png").read_bytes()
    bad = root / "square" / "broken.png"
    bad.write_bytes(good[: len(good) // 2])  # truncated
    result = CliRunner().invoke(app, ["train", "image-classification", "--data", str(root), "--name", "x"])
    assert result.exit_code == 2
    assert str(bad) in result.output.replace("\n", "") and "cannot decode image" in result.output
    from modelbay.core.store import ArtifactStore

    assert ArtifactStore().list() == []  # nothing half-trained is left behind


def test_one_class_empty_class_and_loose_images_fail_clearly(fresh_settings, tmp_path):
    runner = CliRunner()
    one = make_folder(tmp_path / "one", 3, seed=2)
    for kind in CLASSES[1:]:
        for f in (one / kind).iterdir():
            f.unlink()
        (one / kind).rmdir()
    result = runner.invoke(app, ["train", "image-classification", "--data", str(one), "--name", "x"])
    assert result.exit_code == 2 and "1 class ('disc')" in result.output and "at least 2 classes" in result.output

    from modelbay.data.folders import read_image_folder

    (one / "empty").mkdir()
    with pytest.raises(BadInput, match="holds no images"):
        read_image_folder(one)
    loose = tmp_path / "loose"
    loose.mkdir()
    draw("disc", random.Random(0)).save(loose / "a.png")
    with pytest.raises(BadInput, match="folder per class"):
        read_image_folder(loose)


def test_folders_and_tables_load_as_records(tmp_path, shapes):
    from modelbay.data.folders import read_image_folder
    from modelbay.tasks.image_classification.task import ImageClassification

    first = read_image_folder(shapes)
    assert first.summary() == "24 images in 3 classes: disc 8, square 8, stripes 8"
    assert read_image_folder(shapes).fingerprint == first.fingerprint  # stable
    records = ImageClassification.load_data(shapes, {})
    assert len(records) == 24 and set(records[0]) == {"image", "label"}
    assert all(Path(r["image"]).is_file() and Path(r["image"]).parent.name == r["label"] for r in records)

    table = tmp_path / "labels.csv"
    some = records[::4]
    rows = [f"{Path(r['image']).relative_to(shapes).as_posix()},{r['label']}" for r in some]
    table.write_text("path,kind\n" + "\n".join(rows) + "\n")
    (tmp_path / "disc").symlink_to(shapes / "disc")  # paths are relative to the table's folder
    (tmp_path / "square").symlink_to(shapes / "square")
    (tmp_path / "stripes").symlink_to(shapes / "stripes")
    from_table = ImageClassification.load_data(table, {"text_col": "path", "label_col": "kind"})
    assert [r["label"] for r in from_table] == [r["label"] for r in some]
    assert [Path(r["image"]).resolve() for r in from_table] == [Path(r["image"]) for r in some]
    only_discs = tmp_path / "discs.csv"
    only_discs.write_text("image,label\n" + "\n".join(rows[:2]) + "\n")  # one class: fine for evaluation
    assert [r["label"] for r in ImageClassification.load_data(only_discs, {})] == ["disc", "disc"]


def test_training_options_are_checked():
    from modelbay.tasks.image_classification.config import transfer_config

    config = transfer_config({"image_size": "96", "hidden_sizes": [], "hflip": "false", "augment_copies": 0})
    assert (config.image_size, config.hidden_sizes, config.hflip, config.augment_copies) == (96, (), False, 0)
    assert transfer_config({"hidden_sizes": 64}).hidden_sizes == (64,)
    with pytest.raises(BadInput, match="learning_rat"):
        transfer_config({"learning_rat": 0.1})
    with pytest.raises(BadInput, match="multiple of 32"):
        transfer_config({"image_size": 100})
    with pytest.raises(BadInput, match="expected int"):
        transfer_config({"max_epochs": "many"})


def test_augmentation_is_deterministic_and_varied():
    import numpy as np

    from modelbay.tasks.image_classification.config import TransferConfig
    from modelbay.tasks.image_classification.features import augment

    img = draw("disc", random.Random(3))
    config = TransferConfig()
    a = np.asarray(augment(img, np.random.default_rng(1), config))
    b = np.asarray(augment(img, np.random.default_rng(1), config))
    c = np.asarray(augment(img, np.random.default_rng(2), config))
    assert np.array_equal(a, b) and (a.shape != c.shape or not np.array_equal(a, c))


def test_a_broken_model_directory_names_its_problem(tmp_path):
    from modelbay.core.errors import ModelUnavailable
    from modelbay.tasks.image_classification.model import TransferHead

    with pytest.raises(ModelUnavailable, match="head.json is missing"):
        TransferHead(tmp_path)
    (tmp_path / "head.json").write_text(json.dumps({"format": "modelbay.image-head/1", "base": "efficientnet-lite0",
                                                    "labels": ["a", "b"], "n_layers": 1, "image_size": 64}))
    with pytest.raises(ModelUnavailable, match="head.npz"):
        TransferHead(tmp_path)
