"""face-detection speed: images/s and faces/s of our task against a direct dlib loop and OpenCV Haar.

Photos: the eight portraits of ``modelbay.tasks.faces.public_pairs`` (face_recognition 1.3.0's test
photos, 626x1200 to 1434x2333, plus scikit-image's astronaut 512x512 and matplotlib's Grace Hopper
512x600), as JPEG/PNG bytes. Every side decodes the bytes itself.

* ``dlib direct`` is what face_recognition's ``face_locations`` does: PIL decode, then dlib's HOG
  detector with one upsample on the full image; no landmarks, no outputs.
* ``ours hog`` is the whole task with its defaults: decode with limits, HOG with one upsample on the
  image shrunk to at most 1600 px (so large photos take bounded time), score floor, 5-point
  landmarks, pydantic outputs; ``ours hog+emb`` adds the 128-d embeddings.
* ``haar direct`` / ``ours haar``: OpenCV's frontal-face cascade, bare and through the task.
* ``--cnn`` adds dlib's MMOD CNN through the task (about 100x slower on a CPU).

    .venv/bin/python bench/faces_detect.py [--rounds 3] [--cnn]
"""

from __future__ import annotations

import argparse
import io
import time


def photo_bytes() -> list[bytes]:
    from modelbay.tasks.faces.public_pairs import PEOPLE, photos_dir

    root = photos_dir()
    return [(root / name).read_bytes() for name in sorted(PEOPLE)]


def rate(fn, photos: list[bytes], rounds: int) -> tuple[float, float]:
    """(images/s, faces/s) over ``rounds`` passes after one warm-up pass."""
    fn(photos[:1])
    faces, t0 = 0, time.perf_counter()
    for _ in range(rounds):
        faces += fn(photos)
    elapsed = time.perf_counter() - t0
    return rounds * len(photos) / elapsed, faces / elapsed


def dlib_direct():
    import dlib
    import numpy as np
    from PIL import Image

    detector = dlib.get_frontal_face_detector()
    return lambda photos: sum(len(detector(np.asarray(Image.open(io.BytesIO(b)).convert("RGB")), 1)) for b in photos)


def haar_direct():
    import cv2
    import numpy as np
    from PIL import Image

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def run(photos):
        grays = [cv2.cvtColor(np.asarray(Image.open(io.BytesIO(b)).convert("RGB")), cv2.COLOR_RGB2GRAY) for b in photos]
        return sum(len(cascade.detectMultiScale(g, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))) for g in grays)
    return run


def ours(**fields):
    from modelbay.core.loading import load_task

    task = load_task("face-detection")
    return lambda photos: sum(len(o.faces) for o in task([task.coerce({"image": b, **fields}) for b in photos]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cnn", action="store_true", help="also time the CNN detector (slow)")
    args = parser.parse_args()
    photos = photo_bytes()
    sides = [("dlib direct (hog, upsample 1)", dlib_direct()), ("ours hog", ours()),
             ("ours hog+emb", ours(embeddings=True)), ("haar direct", haar_direct()),
             ("ours haar", ours(detector="haar"))]
    if args.cnn:
        sides.append(("ours cnn", ours(detector="cnn")))
    results = {}
    for name, fn in sides:
        rounds = 1 if "cnn" in name else args.rounds
        results[name] = rate(fn, photos, rounds)
        print(f"{name:32s} {results[name][0]:7.2f} images/s {results[name][1]:7.2f} faces/s", flush=True)
    base = results["dlib direct (hog, upsample 1)"][0]
    print(f"ours hog / dlib direct: {results['ours hog'][0] / base:.2f}x images/s")
    print(f"ours haar / haar direct: {results['ours haar'][0] / results['haar direct'][0]:.2f}x images/s")


if __name__ == "__main__":
    main()
