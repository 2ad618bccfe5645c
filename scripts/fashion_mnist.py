#!/usr/bin/env python
"""Fashion-MNIST, end to end: transfer learning on EfficientNet-Lite0, scored on the official test set.

    apt-get install dataset-fashion-mnist          # Debian: the IDX files in /usr/share/datasets/fashion-mnist
    python scripts/fashion_mnist.py --per-class 1000 --image-size 128

1. Reads the official IDX files (60k training, 10k test images, 28x28 grayscale).
2. Exports a seeded, class-balanced training subset and the whole test set as PNGs, one
   folder per class (``<out>/train/<class>/``, ``<out>/test/<class>/``) — the layout
   ``modelbay train image-classification --data`` reads.
3. Trains into the artifact store exactly as ``modelbay train image-classification --data
   <out>/train --name fashion-mnist --param image_size=128 ...`` does (the same ``fit``),
   timed from the first image read to the saved model.
4. Runs the trained model by name over the test folder and prints accuracy, macro-F1,
   per-class recall, the training time and the feature-extraction throughput.

Images are converted to RGB and upscaled (bicubic) to ``--image-size`` by the trainer.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep: the 2 cores are shared

IDX_DIR = Path("/usr/share/datasets/fashion-mnist")
#: the official class order (label k is CLASSES[k]); folder names cannot hold "/"
CLASSES = ("t-shirt-top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot")


def read_idx(path: Path):
    """An IDX file (gzipped or not) as a numpy array: uint8 images (n, 28, 28) or labels (n,)."""
    import numpy as np

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if data[:2] != b"\0\0" or data[2] != 8:
        raise SystemExit(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(idx_dir: Path, split: str):
    prefix = "train" if split == "train" else "t10k"
    found = {kind: next(iter(sorted(idx_dir.glob(f"{prefix}-{kind}-idx*-ubyte*"))), None) for kind in ("images", "labels")}
    missing = [k for k, v in found.items() if v is None]
    if missing:
        raise SystemExit(f"no Fashion-MNIST {split} {', '.join(missing)} in {idx_dir}: apt-get install dataset-fashion-mnist")
    return read_idx(found["images"]), read_idx(found["labels"])


def export(images, labels, indices, root: Path) -> int:
    """Write the chosen images as PNGs into ``root/<class>/<index>.png`` (skipping ones already there)."""
    from PIL import Image

    written = 0
    for i in indices:
        path = root / CLASSES[labels[i]] / f"{i:05d}.png"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i], mode="L").save(path)
            written += 1
    return written


def balanced_subset(labels, per_class: int, seed: int) -> list[int]:
    import numpy as np

    rng = np.random.default_rng(seed)
    chosen = []
    for k in range(len(CLASSES)):
        idx = np.flatnonzero(labels == k)
        chosen += sorted(rng.choice(idx, size=min(per_class, len(idx)), replace=False).tolist())
    return sorted(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-class", type=int, default=1000, help="training images per class (6000 = all)")
    parser.add_argument("--image-size", type=int, default=128, help="pixels the 28x28 images are upscaled to")
    parser.add_argument("--test-limit", type=int, default=0, help="score on the first N test images (0: all 10,000)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/fashion-mnist"), help="where the PNG folders go")
    parser.add_argument("--name", default="fashion-mnist", help="name of the trained model in the store")
    parser.add_argument("--idx-dir", type=Path, default=IDX_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--param", "-p", action="append", default=[], help="more training options key=value")
    args = parser.parse_args()

    import numpy as np

    from modelbay.core.loading import load_task
    from modelbay.tasks.image_classification.task import ImageClassification
    from modelbay.train.publish import train_to_store

    train_x, train_y = load_split(args.idx_dir, "train")
    test_x, test_y = load_split(args.idx_dir, "test")
    subset = balanced_subset(train_y, args.per_class, args.seed)
    tests = list(range(len(test_y)))[: args.test_limit or None]
    train_dir, test_dir = args.out / f"train-{args.per_class}-seed{args.seed}", args.out / "test"
    t = time.perf_counter()
    n = export(train_x, train_y, subset, train_dir) + export(test_x, test_y, tests, test_dir)
    print(f"exported {n} new PNGs in {time.perf_counter() - t:.1f} s: {len(subset)} training images "
          f"({args.per_class}/class, seed {args.seed}) in {train_dir}, {len(tests)} test images in {test_dir}")

    options = {"image_size": args.image_size, "seed": args.seed}
    for p in args.param:
        key, _, value = p.partition("=")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    command = " ".join(["modelbay train image-classification", f"--data {train_dir}", f"--name {args.name}",
                        *(f"--param {k}={json.dumps(v)}" for k, v in options.items())])
    print(f"training, as `{command}`")
    t = time.perf_counter()
    artifact = train_to_store(ImageClassification.name, args.name, train_dir, options, progress=sys.stderr.isatty())
    train_s = time.perf_counter() - t
    ref, card = artifact.ref, artifact.card
    tr = card["training"]
    print(f"saved {ref}: {train_s:.0f} s in all; features {tr['feature_seconds']} s for {tr['features_extracted']} "
          f"images ({tr['images_per_second']} images/s), head{' and fine-tuning' if 'fine_tune' in tr else ''} {tr['fit_seconds']} s; "
          f"validation accuracy {card['metrics']['validation']['accuracy']:.4f}")

    clf = load_task("image-classification", ref)
    records = [{"image": str(test_dir / CLASSES[test_y[i]] / f"{i:05d}.png"), "label": CLASSES[test_y[i]]} for i in tests]
    t = time.perf_counter()
    predicted = []
    for lo in range(0, len(records), 64):
        batch = [clf.coerce(r["image"], allow_paths=True) for r in records[lo:lo + 64]]
        predicted += [clf.prediction(o) for o in clf(batch)]
    test_s = time.perf_counter() - t
    truth = np.array([r["label"] for r in records])
    predicted = np.array(predicted)
    recall = {c: round(float((predicted[truth == c] == c).mean()), 3) for c in CLASSES if (truth == c).any()}
    precision = {c: float((truth[predicted == c] == c).mean()) if (predicted == c).any() else 0.0 for c in CLASSES}
    f1 = [2 * precision[c] * recall[c] / (precision[c] + recall[c]) if precision[c] + recall[c] else 0.0 for c in recall]
    result = {
        "model": ref, "train_images": len(subset), "per_class": args.per_class, "image_size": args.image_size,
        "options": options, "train_seconds": round(train_s, 1), "feature_images_per_second": tr["images_per_second"],
        "test_images": len(records), "test_accuracy": round(float((predicted == truth).mean()), 4),
        "test_macro_f1": round(float(np.mean(f1)), 4), "test_images_per_second": round(len(records) / test_s, 1),
        "test_recall_by_class": recall,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
