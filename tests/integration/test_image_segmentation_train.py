"""Train a segmentation head on user masks; it runs by name, is evaluated by `modelbay eval`, and serves.

SMOKE TEST data, made here: crops of scikit-image's sample photos (astronaut, rocket, immunohistochemistry)
as backgrounds, with an ellipse of cat fur (chelsea) and a rectangle of coffee (coffee) pasted on; the
masks are those shapes. It shows that training learns from masks, not a quality figure.
"""

from __future__ import annotations

import base64
import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput

pytest.importorskip("efficientnet_lite_pytorch")
skimage_data = pytest.importorskip("skimage.data")
from vision_data import SEGMENTATION_CLASSES as CLASSES
from vision_data import segmentation_set

FAST = ["--param", "image_size=128", "--param", "epochs=30"]


def test_train_run_by_name_evaluate_and_serve(fresh_settings, tmp_path):
    train = segmentation_set(tmp_path / "train", 15, seed=0)
    runner = CliRunner()
    result = runner.invoke(app, ["train", "image-segmentation", "--data", str(train), "--name", "pastes", *FAST, "--json"])
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    card = trained["card"]
    assert trained["model"] == "pastes@1" and card["labels"] == CLASSES and card["options"] == {"backend": "trained-head"}
    assert card["data"]["n_train"] == 12 and card["data"]["n_validation"] == 3 and len(card["data"]["sha256"]) == 64
    losses = card["training"]["loss_per_epoch"]
    assert len(losses) == 30 and losses[-1] < 0.5 * losses[0]
    validation = card["metrics"]["validation"]
    baseline = validation["baseline_majority_class"]
    assert baseline["label"] == "background" and validation["miou"] > baseline["miou"] + 0.25

    held_out = segmentation_set(tmp_path / "held-out", 4, seed=7)
    result = runner.invoke(app, ["eval", "pastes", "--data", str(held_out), "--json", "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.output)
    assert scored["family"] == "segmentation" and scored["headline"] == "miou" and scored["n"] == 4
    assert set(scored["metrics"]["per_class_iou"]) == set(CLASSES)  # every pixel gets a class: no "(none)"
    assert scored["metrics"]["per_class_iou"]["cat"]["iou"] > 0.3 and scored["value"] > 0.5

    image = held_out / "images" / "000.jpg"
    result = runner.invoke(app, ["run", "pastes", str(image), "--json", "--render", str(tmp_path / "r.png")])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)[0]
    assert {s["label"] for s in out["segments"]} <= set(CLASSES) and out["method"].startswith("trained head")
    assert all(0 < s["score"] <= 1 for s in out["segments"]) and sum(s["area_px"] for s in out["segments"]) == 96 * 80
    assert Image.open(tmp_path / "r.png").size == (96, 80)

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    body = {"inputs": [{"image": base64.b64encode(image.read_bytes()).decode(), "threshold": 0.99}], "model": "pastes",
            "render": True}
    with TestClient(create_app()) as client:
        response = client.post("/v1/tasks/image-segmentation", json=body)
    assert response.status_code == 200, response.text
    served = response.json()
    assert sum(s["area_px"] for s in served["outputs"][0]["segments"]) < 96 * 80  # unsure pixels left out
    assert base64.b64decode(served["renders"][0]["data"]).startswith(b"\x89PNG")


def test_bad_mask_folders_are_named(tmp_path):
    from modelbay.tasks.image_segmentation.data import read_mask_folder

    root = segmentation_set(tmp_path / "d", 2, seed=1)
    assert read_mask_folder(root).classes == CLASSES
    (root / "masks" / "001.png").unlink()
    with pytest.raises(BadInput, match="no mask 001.png"):
        read_mask_folder(root)
    Image.new("RGB", (96, 80)).save(root / "masks" / "001.png")
    with pytest.raises(BadInput, match="mask has RGB pixels"):
        read_mask_folder(root)
    Image.new("L", (10, 10)).save(root / "masks" / "001.png")
    with pytest.raises(BadInput, match="mask is 10x10 but its image is 96x80"):
        read_mask_folder(root)
    Image.new("L", (96, 80), 5).save(root / "masks" / "001.png")
    with pytest.raises(BadInput, match="class id 5 but classes.txt names 3"):
        read_mask_folder(root)
    (root / "classes.txt").unlink()
    assert read_mask_folder(root).classes == [f"class {i}" for i in range(6)]
    with pytest.raises(BadInput, match="no images/ and masks/"):
        read_mask_folder(tmp_path)


def test_training_options_are_checked(fresh_settings, tmp_path):
    from modelbay.tasks.image_segmentation.train import head_config

    assert head_config({"image_size": 128, "epochs": 5}).image_size == 128
    for bad, message in (({"image_size": 100}, "multiple of 32"), ({"num_threads": 0}, "num_threads >= 1"),
                         ({"val_fraction": 1.0}, "val_fraction < 1")):
        with pytest.raises(BadInput, match=message):
            head_config(bad)
    with pytest.raises(BadInput):
        head_config({"learning_rate": 0.1})  # unknown: the name is lr
    one_class = segmentation_set(tmp_path / "one", 2, seed=3)
    (one_class / "classes.txt").write_text("background\n")
    for mask in (one_class / "masks").iterdir():
        Image.new("L", (96, 80), 0).save(mask)
    result = CliRunner().invoke(app, ["train", "image-segmentation", "--data", str(one_class), "--name", "x"])
    assert result.exit_code == 2 and "at least 2" in result.output
