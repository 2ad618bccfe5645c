"""image-segmentation: the selfie (person) model, classical (unsupervised) regions, COCO RLE and PNG masks, the
render, and the mIoU family.

Images are scikit-image's sample photos or shapes drawn here; the RLE codec is checked against pycocotools.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from modelbay.core.errors import BadInput
from modelbay.core.registry import get_task
from modelbay.ml.metrics import compute
from modelbay.ml.metrics.segmentation import rle_decode, rle_encode

skimage_data = pytest.importorskip("skimage.data")
CLS = get_task("image-segmentation")


def png(img: Image.Image | np.ndarray) -> bytes:
    buf = io.BytesIO()
    (img if isinstance(img, Image.Image) else Image.fromarray(img)).save(buf, "PNG")
    return buf.getvalue()


def disc_on_field(size=(120, 90), box=(30, 15, 90, 75)) -> tuple[bytes, np.ndarray]:
    """A red disc on a blue field, and the disc's mask."""
    img = Image.new("RGB", size, (40, 60, 160))
    ImageDraw.Draw(img).ellipse(box, fill=(210, 30, 30))
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse(box, fill=1)
    return png(img), np.asarray(mask).astype(bool)


@pytest.fixture(scope="module")
def task(loaded_task):
    return loaded_task("image-segmentation", "segmentation-slic")


@pytest.fixture(scope="module")
def selfie(loaded_task):
    return loaded_task("image-segmentation", "selfie-segmentation")


def test_selfie_finds_the_astronaut(selfie):
    photo = skimage_data.astronaut()  # 512 x 512: a woman in a space suit, a flag and a rocket behind her
    out = run(selfie, image=png(photo), return_mask=True)
    assert out.method.startswith("selfie") and [s.label for s in out.segments] == ["person", "background"]
    person = rle_decode(out.segments[0].mask_rle.model_dump())
    assert 0.4 < person.mean() < 0.75
    assert person[90:150, 190:260].all()         # her face
    assert person[300:500, 100:250].mean() > 0.95  # her suit
    assert not person[0:60, 380:512].any()         # the sky and rocket top, right
    assert out.segments[0].score > 0.8 and out.segments[1].score > 0.8
    index = np.asarray(Image.open(io.BytesIO(base64.b64decode(out.mask_png))))
    assert np.array_equal(index == 1, person) and set(np.unique(index).tolist()) == {1, 2}
    unsure_left_out = run(selfie, image=png(photo), threshold=0.99)
    assert sum(s.area_px for s in unsure_left_out.segments) < 512 * 512
    only_person = run(selfie, image=png(photo), classes=["person"])
    assert [s.label for s in only_person.segments] == ["person"]
    with pytest.raises(BadInput, match=r"classes: \['face'\] not among the classes of 'selfie-segmentation'"):
        run(selfie, image=png(photo), classes=["face"])
    with pytest.raises(BadInput, match="n_segments: only classical models take it"):
        run(selfie, image=png(photo), n_segments=5)


def run(task, **fields):
    return task([CLS.coerce(fields)])[0]


def test_slic_regions_cover_the_image_are_unlabelled_and_largest_first(task):
    photo = skimage_data.chelsea()  # 451 x 300 cat
    out = run(task, image=png(photo), n_segments=20)
    assert (out.width, out.height) == (451, 300)
    assert "unsupervised regions, not classes" in out.method and out.method.startswith("slic")
    assert [s.label for s in out.segments] == [f"region {k}" for k in range(1, len(out.segments) + 1)]
    assert 8 <= len(out.segments) <= 40 and all(s.score is None for s in out.segments)
    areas = [s.area_px for s in out.segments]
    assert areas == sorted(areas, reverse=True) and sum(areas) == 451 * 300
    cover = np.zeros((300, 451), int)
    for s in out.segments:
        mask = rle_decode(s.mask_rle.model_dump())
        assert int(mask.sum()) == s.area_px
        ys, xs = np.nonzero(mask)
        assert s.box == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        cover += mask
    assert (cover == 1).all()  # regions partition the image
    assert out.summary().startswith(f"{len(out.segments)} segments (slic (unsupervised regions")


def test_other_classical_methods_and_options(task):
    image, disc = disc_on_field()
    fz = run(task, image=image, method="felzenszwalb")
    assert fz.method.startswith("felzenszwalb") and 2 <= len(fz.segments) <= 12  # + slivers along the edge
    regions = [rle_decode(s.mask_rle.model_dump()) for s in fz.segments]
    assert max((m & disc).sum() / (m | disc).sum() for m in regions) > 0.8  # one region is most of the disc
    assert (regions[0] & ~disc).sum() > 0.85 * (~disc).sum()  # the largest is the field (less a blurred rim)

    ws = run(task, image=image, method="watershed", n_segments=9)
    assert ws.method.startswith("watershed") and 3 <= len(ws.segments) <= 9

    gc = run(task, image=image, method="grabcut")
    labels = [s.label for s in gc.segments]
    assert sorted(labels) == ["background", "foreground"] and gc.method == "grabcut (foreground/background from a box, not classes)"
    fg = rle_decode(next(s for s in gc.segments if s.label == "foreground").mask_rle.model_dump())
    assert (fg & disc).sum() / (fg | disc).sum() > 0.9

    # a box around one of two discs: GrabCut keeps that one only
    two = Image.new("RGB", (160, 80), (40, 60, 160))
    ImageDraw.Draw(two).ellipse((10, 15, 60, 65), fill=(210, 30, 30))
    ImageDraw.Draw(two).ellipse((100, 15, 150, 65), fill=(210, 30, 30))
    boxed = run(task, image=png(two), method="grabcut", box=[90, 5, 158, 75])
    fg = rle_decode(next(s for s in boxed.segments if s.label == "foreground").mask_rle.model_dump())
    assert fg[:, 90:].sum() > 1500 and fg[:, :80].sum() == 0
    with pytest.raises(BadInput, match="box: only the grabcut method takes a box"):
        run(task, image=png(two), box=[90, 5, 158, 75])
    with pytest.raises(BadInput, match=r"box: \[90, 5, 170, 75\] must be"):
        run(task, image=png(two), method="grabcut", box=[90, 5, 170, 75])


def test_filters_and_the_mask_png(task):
    photo = skimage_data.astronaut()[::2, ::2]  # 256 x 256
    everything = run(task, image=png(photo), n_segments=30, return_mask=True)
    index = np.asarray(Image.open(io.BytesIO(base64.b64decode(everything.mask_png))))
    assert index.shape == (256, 256) and index.max() == len(everything.segments) and index.min() == 1
    for k, s in enumerate(everything.segments, start=1):
        assert np.array_equal(index == k, rle_decode(s.mask_rle.model_dump()))

    threshold = everything.segments[5].area_px
    big = run(task, image=png(photo), n_segments=30, min_area_px=threshold)
    assert [s.area_px for s in big.segments] == [s.area_px for s in everything.segments if s.area_px >= threshold]
    picked = run(task, image=png(photo), n_segments=30, classes=["region 2", "region 4"], return_mask=True)
    assert [s.label for s in picked.segments] == ["region 2", "region 4"]
    index = np.asarray(Image.open(io.BytesIO(base64.b64decode(picked.mask_png))))
    assert set(np.unique(index).tolist()) == {0, 1, 2}  # left-out segments' pixels are 0


def test_bad_inputs_say_what_to_fix(task):
    image, _ = disc_on_field()
    with pytest.raises(BadInput, match="method: unknown classical method 'kmeans'"):
        run(task, image=image, method="kmeans")
    with pytest.raises(BadInput, match="grabcut could not run on this 1x1 image"):
        run(task, image=png(Image.new("RGB", (1, 1))), method="grabcut")
    with pytest.raises(BadInput):
        CLS.coerce({"image": image, "n_segments": 0})
    with pytest.raises(BadInput):
        CLS.coerce({"image": image, "colour": "red"})


def test_render_tints_segments_and_keeps_the_size(task):
    image, disc = disc_on_field()
    item = CLS.coerce({"image": image, "method": "grabcut"})
    out = task([item])[0]
    drawn = np.asarray(Image.open(io.BytesIO(task.render(item, out))).convert("RGB")).astype(int)
    original = np.asarray(Image.open(io.BytesIO(image)).convert("RGB")).astype(int)
    assert drawn.shape == original.shape
    inner = disc & np.roll(disc, 3, 0) & np.roll(disc, -3, 0) & np.roll(disc, 3, 1) & np.roll(disc, -3, 1)
    fg_tint, bg_tint = (drawn - original)[inner].mean(0), (drawn - original)[~disc].mean(0)
    assert np.abs(fg_tint).sum() > 20 and np.abs(bg_tint).sum() > 20  # both segments are tinted
    assert np.abs(fg_tint - bg_tint).sum() > 20  # in different colours


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools 2.0.11 on numpy 2
def test_rle_is_pycocotools_compatible():
    mask_util = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(0)
    shapes = [(1, 1), (3, 7), (40, 33), (300, 451)]
    masks = [rng.random(s) > 0.5 for s in shapes] + [np.zeros((5, 4), bool), np.ones((6, 9), bool)]
    masks.append(np.asarray(Image.fromarray(skimage_data.horse())) == 0)  # a horse silhouette, long runs
    for mask in masks:
        ours = rle_encode(mask)
        theirs = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
        assert ours == {"size": list(theirs["size"]), "counts": theirs["counts"].decode("ascii")}
        assert np.array_equal(rle_decode(ours), mask)
        assert np.array_equal(mask_util.decode({**ours, "counts": ours["counts"].encode()}).astype(bool), mask)
    assert np.array_equal(rle_decode({"size": [2, 3], "counts": [1, 2, 3]}), np.array([[0, 1, 0], [1, 0, 0]], bool))
    with pytest.raises(BadInput, match="RLE counts add up to 5 pixels; size 2x3 has 6"):
        rle_decode({"size": [2, 3], "counts": [1, 4]})


def test_miou_matches_a_hand_count(tmp_path):
    truth = np.array([[0, 0, 1, 1],
                      [0, 0, 1, 1],
                      [2, 2, 255, 255]], np.uint8)
    Image.fromarray(truth).save(tmp_path / "t.png")
    cat = np.array([[0, 1, 1, 1], [0, 0, 1, 0], [0, 0, 1, 1]], bool)
    dog = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]], bool)
    pred = {"size": [3, 4], "segments": [{"label": "cat", "mask_rle": rle_encode(cat)},
                                         {"label": "dog", "mask_rle": rle_encode(dog)}]}
    result = compute("segmentation", [{"mask": str(tmp_path / "t.png"), "classes": ["(none)", "cat", "dog"]}], [pred])
    # scored pixels (255 left out): truth none {00,01,10,11}, cat {02,03,12,13}, dog {20,21}
    # predicted none {00,10,11,21}, cat {01,02,03,12}, dog {13,20}
    iou = {"(none)": 3 / 5, "cat": 3 / 5, "dog": 1 / 3}
    assert result["miou"] == pytest.approx(sum(iou.values()) / 3)
    assert {k: v["iou"] for k, v in result["per_class_iou"].items()} == pytest.approx(iou)
    assert result["pixel_accuracy"] == pytest.approx(7 / 10) and result["pixels_scored"] == 10
    assert result["mean_class_accuracy"] == pytest.approx((3 / 4 + 3 / 4 + 1 / 2) / 3)
    # uncovered pixels are misses of their truth class, not a class of their own in the mean
    named = compute("segmentation", [{"mask": str(tmp_path / "t.png"), "classes": ["background", "cat", "dog"]}], [pred])
    assert {k: v["iou"] for k, v in named["per_class_iou"].items()} == pytest.approx({"background": 0.0, "cat": 3 / 5,
                                                                                     "dog": 1 / 3})
    assert named["miou"] == pytest.approx((3 / 5 + 1 / 3) / 3) and named["pixel_accuracy"] == pytest.approx(4 / 10)
    with pytest.raises(BadInput, match="pixel value 2 is not a class id"):
        compute("segmentation", [{"mask": str(tmp_path / "t.png"), "classes": ["(none)", "cat"]}], [pred])
