"""image-segmentation on public images with masks that ship in packages, beside baselines in the same run.

Data (read from the downloaded package files at run time, never copied into the repo):

* person / background: the 3 PASCAL VOC 2011 photos with class masks in the labelme 6.3.1 sdist on PyPI
  (``examples/semantic_segmentation/data_dataset_voc``; 2 of them show people). VOC's 20 classes are folded to
  person (15) vs background; VOC's 255 border pixels are not scored. Tiny: a sanity check, not a benchmark.
* nuclei / background: the DSB 2018 fluorescence image and its nucleus mask in the stardist 0.9.2 wheel
  (``stardist/data/images/img2d.tif``, ``mask2d.tif``; 512x512), cut into 16 tiles of 128x128: a segmentation
  head is trained on 12 tiles (``modelbay train``'s code) and scored on the other 4, beside Otsu's threshold.
* the RLE codec: ours (numpy) against pycocotools (C) on those masks: equal output, speed ratio.

    .venv/bin/python bench/segmentation_quality.py [--labelme-sdist PATH] [--stardist-wheel PATH] [--model NAME]

The person table has the default model (selfie-segmentation: `modelbay models install selfie-segmentation`
first) and GrabCut beside two baselines; ``--model`` adds another model: its segments labelled ``person`` or
``foreground`` count as person, the rest as background.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

VOC = "labelme-6.3.1/examples/semantic_segmentation/data_dataset_voc"
PERSON = 15


def fetch(spec: str, tmp: Path, sdist: bool) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", spec, "-d", str(tmp)]
    subprocess.run(cmd + (["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]), check=True)
    return next(tmp.glob(spec.split("==")[0] + "-*"))


def person_set(sdist: Path, root: Path) -> list[dict]:
    """``root/images`` + ``root/masks`` (0 background, 1 person, 255 not scored) from the VOC masks."""
    from PIL import Image

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if member.name.startswith(f"{VOC}/SegmentationClass/") and member.name.endswith(".png"):
                stem = Path(member.name).stem
                ids = np.asarray(Image.open(io.BytesIO(tar.extractfile(member).read())))
                folded = np.where(ids == 255, 255, np.where(ids == PERSON, 1, 0)).astype(np.uint8)
                Image.fromarray(folded).save(root / "masks" / f"{stem}.png")
                jpg = tar.extractfile(f"{VOC}/JPEGImages/{stem}.jpg").read()
                (root / "images" / f"{stem}.jpg").write_bytes(jpg)
    (root / "classes.txt").write_text("background\nperson\n")
    from modelbay.tasks.image_segmentation.data import read_mask_folder

    return read_mask_folder(root).records


def whole(label: str, h: int, w: int, box: float | None = None) -> dict:
    from modelbay.ml.metrics.segmentation import rle_encode

    mask = np.ones((h, w), bool)
    if box is None:
        return {"size": [h, w], "segments": [{"label": label, "mask_rle": rle_encode(mask)}]}
    mask[:] = False
    mask[int(h * box):int(h * (1 - box)), int(w * box):int(w * (1 - box))] = True
    return {"size": [h, w], "segments": [{"label": label, "mask_rle": rle_encode(mask)},
                                         {"label": "background", "mask_rle": rle_encode(~mask)}]}


def model_predictions(records: list[dict], model: str, method: str | None) -> tuple[list[dict], float]:
    from modelbay.core.loading import load_task
    from modelbay.core.registry import get_task

    cls = get_task("image-segmentation")
    task = load_task("image-segmentation", model)
    rename = {"foreground": "person", "person": "person"}
    preds, start = [], time.perf_counter()
    for r in records:
        fields = {"image": Path(r["image"]).read_bytes(), **({"method": method} if method else {})}
        out = task([cls.coerce(fields)])[0]
        pred = task.prediction(out)
        pred["segments"] = [{**s, "label": rename.get(s["label"], "background")} for s in pred["segments"]]
        preds.append(pred)
    return preds, (time.perf_counter() - start) / len(records)


def person_table(sdist: Path, tmp: Path, extra_model: str | None) -> None:
    from PIL import Image

    from modelbay.ml.metrics import compute

    records = person_set(sdist, tmp / "voc-person")
    sizes = [Image.open(r["image"]).size[::-1] for r in records]
    rows = {"all background": ([whole("background", h, w) for h, w in sizes], 0.0),
            "centre box (10% margin) = person": ([whole("person", h, w, box=0.1) for h, w in sizes], 0.0),
            "grabcut (classical, centre box)": model_predictions(records, "segmentation-slic", "grabcut"),
            "selfie-segmentation (the default)": model_predictions(records, "selfie-segmentation", None)}
    if extra_model:
        rows[extra_model] = model_predictions(records, extra_model, None)
    print(f"\nperson vs background, {len(records)} VOC 2011 photos from the labelme 6.3.1 sdist (pooled pixels)")
    print(f"{'method':40s} {'mIoU':>6s} {'person IoU':>10s} {'pixel acc':>9s} {'s/image':>8s}")
    for name, (preds, per_image_s) in rows.items():
        m = compute("segmentation", [r["mask"] for r in records], preds)
        person = (m["per_class_iou"].get("person") or {}).get("iou") or 0.0
        print(f"{name:40s} {m['miou']:6.3f} {person:10.3f} {m['pixel_accuracy']:9.3f} {per_image_s:8.2f}")


def nuclei_tiles(wheel: Path, root: Path) -> tuple[Path, Path]:
    """16 tiles of 128x128 (1 = nucleus): 12 in ``root/train``, 4 in ``root/test``; grey stretched to 8 bits."""
    from PIL import Image

    with zipfile.ZipFile(wheel) as z:
        img = np.asarray(Image.open(io.BytesIO(z.read("stardist/data/images/img2d.tif")))).astype(float)
        mask = np.asarray(Image.open(io.BytesIO(z.read("stardist/data/images/mask2d.tif")))) > 0
    grey = np.clip(255 * (img - img.min()) / (np.percentile(img, 99.8) - img.min()), 0, 255).astype(np.uint8)
    for part in ("train", "test"):
        (root / part / "images").mkdir(parents=True)
        (root / part / "masks").mkdir()
        (root / part / "classes.txt").write_text("background\nnucleus\n")
    for k in range(16):
        y, x, part = 128 * (k // 4), 128 * (k % 4), "train" if k < 12 else "test"
        Image.fromarray(grey[y:y + 128, x:x + 128]).convert("RGB").save(root / part / "images" / f"{k:02d}.png")
        Image.fromarray(mask[y:y + 128, x:x + 128].astype(np.uint8)).save(root / part / "masks" / f"{k:02d}.png")
    return root / "train", root / "test"


def otsu(records: list[dict], level: float) -> list[dict]:
    from PIL import Image

    from modelbay.ml.metrics.segmentation import rle_encode

    preds = []
    for r in records:
        grey = np.asarray(Image.open(r["image"]).convert("L"))
        fg = grey > level
        preds.append({"size": list(grey.shape), "segments": [{"label": "nucleus", "mask_rle": rle_encode(fg)},
                                                             {"label": "background", "mask_rle": rle_encode(~fg)}]})
    return preds


def nuclei_table(wheel: Path, tmp: Path) -> None:
    from PIL import Image
    from skimage.filters import threshold_otsu

    from modelbay.core.media import decode_image
    from modelbay.ml.metrics import compute
    from modelbay.tasks.image_segmentation.data import read_mask_folder
    from modelbay.tasks.image_segmentation.head import SegmentationHead
    from modelbay.tasks.image_segmentation.masks import segments_of
    from modelbay.tasks.image_segmentation.train import train_segmentation_head

    train_dir, test_dir = nuclei_tiles(wheel, tmp / "nuclei")
    train, test = read_mask_folder(train_dir).records, read_mask_folder(test_dir).records
    level = threshold_otsu(np.concatenate([np.asarray(Image.open(r["image"]).convert("L")).ravel() for r in train]))
    start = time.perf_counter()
    card = train_segmentation_head(train_dir, tmp / "nuclei-head", {"image_size": 128, "val_fraction": 0})
    train_s = time.perf_counter() - start
    head = SegmentationHead(tmp / "nuclei-head")
    preds = [{"size": [128, 128], "segments": segments_of(head.segment(decode_image(Path(r["image"]).read_bytes()), None))}
             for r in test]
    rows = {"all background": [whole("background", 128, 128) for _ in test],
            f"Otsu threshold ({level:.0f}/255, from the 12 train tiles)": otsu(test, level),
            f"trained head (12 tiles, {card['config']['epochs']} epochs, {train_s:.0f} s)": preds}
    print("\nnuclei vs background: stardist 0.9.2 wheel's DSB 2018 image, 4 held-out 128x128 tiles")
    print(f"{'method':52s} {'mIoU':>6s} {'nucleus IoU':>11s} {'pixel acc':>9s}")
    for name, p in rows.items():
        m = compute("segmentation", [r["mask"] for r in test], p)
        nucleus = (m["per_class_iou"].get("nucleus") or {}).get("iou") or 0.0
        print(f"{name:52s} {m['miou']:6.3f} {nucleus:11.3f} {m['pixel_accuracy']:9.3f}")


def rle_speed(masks: list[np.ndarray], repeats: int = 20) -> None:
    from pycocotools import mask as mask_util

    from modelbay.ml.metrics.segmentation import rle_decode, rle_encode

    def ours() -> None:
        for m in masks:
            rle_decode(rle_encode(m))

    def theirs() -> None:
        for m in masks:
            mask_util.decode(mask_util.encode(np.asfortranarray(m.astype(np.uint8))))

    same = all(rle_encode(m)["counts"] == mask_util.encode(np.asfortranarray(m.astype(np.uint8)))["counts"].decode()
               for m in masks)
    times = {}
    for name, fn in (("ours", ours), ("pycocotools", theirs)):
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        times[name] = (time.perf_counter() - start) / (repeats * len(masks)) * 1000
    print(f"\nRLE encode+decode of {len(masks)} masks (identical strings: {same}): ours {times['ours']:.2f} ms, "
          f"pycocotools {times['pycocotools']:.2f} ms per mask; ours / pycocotools = {times['ours'] / times['pycocotools']:.1f}x")


def main() -> None:
    from PIL import Image

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labelme-sdist", type=Path)
    parser.add_argument("--stardist-wheel", type=Path)
    parser.add_argument("--model", help="also score this image-segmentation model on person vs background")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sdist = args.labelme_sdist or fetch("labelme==6.3.1", tmp, sdist=True)
        wheel = args.stardist_wheel or fetch("stardist==0.9.2", tmp, sdist=False)
        person_table(sdist, tmp, args.model)
        nuclei_table(wheel, tmp)
        masks = [np.asarray(Image.open(p)) == 1 for p in sorted((tmp / "voc-person" / "masks").glob("*.png"))]
        masks += [np.asarray(Image.open(p)) == 1 for p in sorted((tmp / "nuclei").rglob("masks/*.png"))]
        rle_speed(masks)


if __name__ == "__main__":
    main()
