"""The shared vision blocks: box geometry, drawing, and where ``--render`` writes its pictures."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from modelbay.cli_render import render_paths
from modelbay.ml.vision import boxes as B
from modelbay.ml.vision import draw as D


@pytest.mark.parametrize("module", ["modelbay.ml.vision.boxes", "modelbay.ml.vision.draw", "modelbay.cli_render"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


def test_nms_keeps_the_best_of_each_overlapping_group_and_respects_max_kept():
    rng = np.random.default_rng(0)
    centres = np.array([[50, 50], [200, 60], [120, 220]], dtype=float)
    boxes, scores, group = [], [], []
    for g, (cx, cy) in enumerate(centres):  # five jittered copies of each of three objects
        for _ in range(5):
            dx, dy = rng.uniform(-3, 3, 2)
            boxes.append([cx - 20 + dx, cy - 20 + dy, cx + 20 + dx, cy + 20 + dy])
            scores.append(rng.uniform(0.1, 1.0))
            group.append(g)
    boxes, scores, group = np.array(boxes), np.array(scores), np.array(group)
    kept = B.nms(boxes, scores, 0.5)
    assert sorted(group[kept].tolist()) == [0, 1, 2]
    for k in kept:  # the survivor of each group is its best-scoring box
        assert scores[k] == scores[group == group[k]].max()
    assert list(scores[kept]) == sorted(scores[kept], reverse=True)
    assert len(B.nms(boxes, scores, 0.5, max_kept=2)) == 2
    assert B.nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        B.nms(boxes[:2], scores[:1], 0.5)


def test_iou_is_symmetric_and_one_on_the_diagonal():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 100, (6, 2))
    boxes = np.hstack([xy, xy + rng.uniform(1, 50, (6, 2))])
    m = B.iou(boxes, boxes)
    assert np.allclose(m, m.T) and np.allclose(np.diag(m), 1.0) and (m >= 0).all() and (m <= 1).all()


def _grey(width=120, height=80):
    return Image.new("RGB", (width, height), (128, 128, 128))


def test_draw_boxes_outlines_in_the_labels_colour_and_leaves_the_original_alone():
    img = _grey()
    out = D.draw_boxes(img, [(20, 30, 100, 70)], ["cat"])
    assert img.getpixel((20, 50)) == (128, 128, 128)  # a copy was drawn on
    assert out.getpixel((20, 50)) == D.color_for("cat")  # left edge, below the label
    assert out.getpixel((60, 50)) == (128, 128, 128)  # inside stays clear


def test_overlay_mask_colours_only_the_masked_pixels():
    mask = np.zeros((80, 120), dtype=np.int64)
    mask[10:20, 10:20] = 1
    out = np.asarray(D.overlay_mask(_grey(), mask, alpha=1.0, keys=["background", "person"]))
    assert tuple(out[15, 15]) == D.color_for("person") and tuple(out[50, 50]) == (128, 128, 128)
    with pytest.raises(ValueError, match="mask is"):
        D.overlay_mask(_grey(), np.zeros((10, 10)))


def test_blur_regions_changes_only_the_region():
    rng = np.random.default_rng(2)
    img = Image.fromarray(rng.integers(0, 255, (80, 120, 3), dtype=np.uint8))
    out = np.asarray(D.blur_regions(img, [(10, 10, 60, 60)]))
    before = np.asarray(img)
    assert np.array_equal(out[:, 70:], before[:, 70:])
    assert out[10:60, 10:60].std() < before[10:60, 10:60].std() / 3  # noise is smoothed away


def test_png_bytes_round_trip_and_polygons_and_points_draw():
    out = D.draw_points(D.draw_polygons(_grey(), [[(5, 5), (60, 5), (60, 40), (5, 40)]], ["text"]), [(90, 60)], 3)
    back = Image.open(__import__("io").BytesIO(D.png_bytes(out)))
    assert back.size == (120, 80) and back.getpixel((90, 60)) == D.color_for("points")


def test_render_paths_one_file_or_a_folder(tmp_path: Path):
    assert render_paths(tmp_path / "one.png", ["x.jpg"], ".png") == [tmp_path / "one.png"]
    many = render_paths(tmp_path / "out", ["a/b/street.jpg", b"\x89PNG", {"video": "clip.mp4"}], ".mp4")
    assert [p.name for p in many] == ["001-street.mp4", "002-item.mp4", "003-clip.mp4"]
    assert render_paths(tmp_path, ["x.jpg"], ".png") == [tmp_path / "001-x.png"]  # an existing folder
