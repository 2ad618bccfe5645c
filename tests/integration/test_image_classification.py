"""image-classification with the real EfficientNet-Lite0 on scikit-image's sample photos."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest

from modelbay.core.errors import BadInput, PayloadTooLarge

pytest.importorskip("efficientnet_lite_pytorch")
skimage_data = pytest.importorskip("skimage.data")
pytestmark = pytest.mark.models("image-classification")

CAT_CLASSES = {"tabby", "tiger cat", "Egyptian cat"}
COFFEE_CLASSES = {"espresso", "cup", "coffee mug"}


def encode(array: np.ndarray, fmt: str, mode: str | None = None) -> bytes:
    from PIL import Image

    img = Image.fromarray(array)
    if mode:
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A few-byte PNG whose header claims a huge image (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def clf(loaded_task):
    return loaded_task("image-classification")


@pytest.fixture(scope="module")
def chelsea_jpeg() -> bytes:
    return encode(skimage_data.chelsea(), "JPEG")


def run(clf, value):
    return clf([clf.coerce(value, allow_paths=True)])[0]


def labels(out) -> list[str]:
    return [item.label for item in out.labels]


def test_cat_photo_is_a_cat(clf, chelsea_jpeg):
    out = run(clf, chelsea_jpeg)
    assert out.labels[0].label in CAT_CLASSES, out.summary()
    assert sum(item.score for item in out.labels if item.label in CAT_CLASSES) > 0.5, out.summary()
    assert len(out.labels) == 5
    assert out.summary().startswith(f"{out.labels[0].label} {out.labels[0].score:.2f}, ")


def test_coffee_photo_has_a_coffee_class_in_the_top_5(clf):
    out = run(clf, encode(skimage_data.coffee(), "PNG"))
    assert COFFEE_CLASSES & set(labels(out)), out.summary()
    assert out.labels[0].label not in CAT_CLASSES


def test_jpeg_png_and_webp_of_the_same_photo_agree(clf):
    # coffee is a confident photo (espresso ~0.9), so lossy re-encoding must not change its top-1
    coffee = skimage_data.coffee()
    tops = {fmt: run(clf, encode(coffee, fmt)).labels[0] for fmt in ("JPEG", "PNG", "WEBP")}
    assert len({top.index for top in tops.values()}) == 1, tops
    # the cat sits between tabby / tiger cat / Egyptian cat: encodings may swap those, never leave them
    cat = skimage_data.chelsea()
    for fmt in ("JPEG", "PNG", "WEBP"):
        assert run(clf, encode(cat, fmt)).labels[0].label in CAT_CLASSES, fmt


def test_grayscale_rgba_and_gif_inputs_are_converted(clf):
    photo = skimage_data.chelsea()
    for fmt, mode in (("PNG", "L"), ("PNG", "RGBA"), ("GIF", "P")):
        out = run(clf, encode(photo, fmt, mode))
        assert len(out.labels) == 5 and 0.0 <= out.labels[-1].score <= out.labels[0].score <= 1.0


def test_top_k_is_respected_and_sorted(clf, chelsea_jpeg):
    for k in (1, 3):
        out = run(clf, {"image": chelsea_jpeg, "top_k": k})
        assert len(out.labels) == k
    everything = run(clf, {"image": chelsea_jpeg, "top_k": 1000})
    scores = [item.score for item in everything.labels]
    assert scores == sorted(scores, reverse=True)
    assert sorted(item.index for item in everything.labels) == list(range(1000))
    assert sum(scores) == pytest.approx(1.0, abs=1e-3)
    assert everything.labels[0] == run(clf, {"image": chelsea_jpeg, "top_k": 1}).labels[0]


@pytest.mark.parametrize("top_k", [0, 1001, "five"])
def test_bad_top_k_is_refused(clf, chelsea_jpeg, top_k):
    with pytest.raises(BadInput, match="top_k"):
        clf.coerce({"image": chelsea_jpeg, "top_k": top_k})


def test_base64_data_url_path_and_bytes_give_the_same_answer(clf, chelsea_jpeg, tmp_path):
    b64 = base64.b64encode(chelsea_jpeg).decode()
    path = tmp_path / "chelsea.jpg"
    path.write_bytes(chelsea_jpeg)
    expected = run(clf, chelsea_jpeg)
    for value in (b64, "data:image/jpeg;base64," + b64, str(path), path):
        assert run(clf, value) == expected


def test_undecodable_bytes_and_bad_base64_are_bad_input(clf):
    with pytest.raises(BadInput, match="cannot decode image"):
        run(clf, b"this is not an image at all")
    with pytest.raises(BadInput, match="cannot decode image"):
        run(clf, encode(skimage_data.chelsea(), "PNG")[:200])  # truncated file
    with pytest.raises(BadInput, match="base64"):
        clf([clf.coerce({"image": "definitely not base64!"})])


def test_decompression_bombs_are_refused(clf, fresh_settings, monkeypatch):
    with pytest.raises(PayloadTooLarge, match="pixels"):
        run(clf, png_header_claiming(100_000, 100_000))
    monkeypatch.setenv("MODELBAY_LIMIT_MAX_IMAGE_PIXELS", "100000")
    fresh_settings.cache_clear()
    with pytest.raises(PayloadTooLarge, match="MODELBAY_LIMIT_MAX_IMAGE_PIXELS"):
        run(clf, encode(skimage_data.chelsea(), "PNG"))  # 451 x 300 = 135,300 pixels


def test_batch_of_n_equals_n_batches_of_one(clf):
    photos = [skimage_data.chelsea(), skimage_data.coffee(), skimage_data.rocket(), skimage_data.astronaut()]
    items = [clf.coerce({"image": encode(p, "JPEG"), "top_k": 3 + i}) for i, p in enumerate(photos)]
    together = clf(items)
    alone = [clf([item])[0] for item in items]
    for a, b in zip(together, alone):
        assert [x.index for x in a.labels] == [x.index for x in b.labels]
        assert [x.score for x in a.labels] == pytest.approx([x.score for x in b.labels], abs=1e-5)
    assert [len(out.labels) for out in together] == [3, 4, 5, 6]


def test_examples_are_valid_and_run(clf):
    examples = clf.examples()
    assert len(examples) >= 2
    outs = clf([clf.coerce(e) for e in examples])
    assert all(out.labels for out in outs)


def test_class_names_file_and_catalog_checksum():
    from modelbay.core.catalog import resolve, verify
    from modelbay.tasks.image_classification.task import imagenet_classes

    classes = imagenet_classes()
    assert len(classes) == 1000 and len({name for _, name in classes}) == 1000
    assert classes[281] == ("n02123045", "tabby") and classes[967] == ("n07920052", "espresso")
    assert set(verify(resolve("efficientnet-lite0")).values()) == {"ok"}


def test_http_route_takes_base64_and_names_bad_images(sentiment_app, chelsea_jpeg):
    body = {"inputs": [{"image": base64.b64encode(chelsea_jpeg).decode(), "top_k": 2}]}
    resp = sentiment_app.post("/v1/tasks/image-classification", json=body)
    assert resp.status_code == 200, resp.text
    (out,) = resp.json()["outputs"]
    assert len(out["labels"]) == 2 and out["labels"][0]["label"] in CAT_CLASSES
    resp = sentiment_app.post("/v1/tasks/classify-image", json={"inputs": base64.b64encode(b"junk").decode()})
    assert resp.status_code == 422 and "image" in resp.text
