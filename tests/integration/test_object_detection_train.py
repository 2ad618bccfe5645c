"""Training object-detection on YOLO data: a head relabelling CenterNet's candidates.

The data is made here (a smoke test, not a quality number): scikit-image's cat, espresso cup and astronaut
pasted at random sizes and places on its grass/gravel/brick textures, labelled "tabby", "espresso" (names
COCO lacks) and "person" (one it has). The base model can only get "person" right; the head must learn all three.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data")
from vision_data import detection_set

pytestmark = pytest.mark.models("object-detection")


@pytest.fixture(scope="module")
def centernet_dir() -> Path:
    from modelbay.core.catalog.install import installed_dir
    from modelbay.ml.installs import install_model

    install_model("centernet-coco", progress=lambda _msg: None)  # a no-op once installed
    return installed_dir("centernet-coco")


@pytest.fixture
def home_with_centernet(centernet_dir, fresh_settings):
    """A fresh MODELBAY_HOME (its own artifact store) holding a copy of the installed CenterNet."""
    from modelbay.core.catalog.install import installed_dir

    shutil.copytree(centernet_dir, installed_dir("centernet-coco"))
    return fresh_settings


def test_head_learns_new_labels_and_beats_the_base_model_on_held_out_images(home_with_centernet, tmp_path):
    from PIL import Image

    from modelbay.core.loading import load_task
    from modelbay.core.registry import get_task
    from modelbay.ml.vision.boxes import iou
    from modelbay.train.publish import train_to_store

    detection_set(tmp_path / "data", 24, seed=0)
    artifact = train_to_store("object-detection", "desk-things", tmp_path / "data", {"seed": 0})
    metrics = artifact.card["metrics"]
    head, base = metrics["validation"], metrics["validation_base_model"]
    assert artifact.card["data"]["n_validation"] == 6
    assert base["per_class_ap50"]["tabby"] == 0.0 and base["per_class_ap50"]["person"] > 0.9
    assert head["map50"] > 0.9 and head["map50"] > base["map50"] + 0.5
    assert head["map"] > base["map"]

    detection_set(tmp_path / "new", 1, seed=99)  # an image neither training nor validation saw
    buf = io.BytesIO()
    Image.open(tmp_path / "new" / "images" / "000.jpg").save(buf, "PNG")
    task = load_task("object-detection", "desk-things")
    out = task([get_task("object-detection").coerce({"image": buf.getvalue(), "score_threshold": 0.5})])[0]
    truth = {b["label"]: b["box"] for b in get_task("object-detection").load_data(tmp_path / "new", {})[0]["boxes"]}
    best = out.detections[:3]  # sorted by score: the three objects come first, each boxed where it is
    assert sorted(d.label for d in best) == ["espresso", "person", "tabby"]
    for d in best:
        got = np.array([[d.box.x0, d.box.y0, d.box.x1, d.box.y1]])
        assert iou(got, np.array([truth[d.label]]))[0, 0] > 0.6, d
