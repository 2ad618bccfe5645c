"""face-verification quality and speed on the only labelled face pairs found in packages, against direct dlib.

Pairs: ``modelbay.tasks.faces.public_pairs`` — 10 same-person pairs (five photos of Barack Obama from
face_recognition 1.3.0's sdist test images) and 18 different-person pairs (those, Joe Biden from the
same sdist, Eileen Collins from scikit-image, Grace Hopper from matplotlib). Far too few for a real
TAR@FAR=1e-3 (FAR resolution 1/18): a check that the threshold separates them, not an LFW number.

* ``direct dlib``: what face_recognition's ``compare_faces`` does — HOG with one upsample on the full
  image, the 5-point landmarks, the ResNet embedding, Euclidean distance <= 0.6 — per pair.
* ``ours``: the face-verification task, one request per pair (``image`` + ``compare_to``).

    .venv/bin/python bench/faces_verify.py
"""

from __future__ import annotations

import io
import time


def direct_dlib(root):
    import dlib
    import face_recognition_models
    import numpy as np
    from PIL import Image

    models = face_recognition_models.__path__[0] + "/models/"
    detector = dlib.get_frontal_face_detector()
    landmarks = dlib.shape_predictor(models + "shape_predictor_5_face_landmarks.dat")
    encoder = dlib.face_recognition_model_v1(models + "dlib_face_recognition_resnet_model_v1.dat")

    def embed(name):
        pixels = np.asarray(Image.open(io.BytesIO((root / name).read_bytes())).convert("RGB"))
        faces = sorted(detector(pixels, 1), key=lambda r: -r.area())
        return np.asarray(encoder.compute_face_descriptor(pixels, landmarks(pixels, faces[0]), 0))

    return lambda a, b: float(np.linalg.norm(embed(a) - embed(b)))


def ours(root):
    from modelbay.core.loading import load_task

    task = load_task("face-verification")
    return lambda a, b: task([task.coerce({"image": (root / a).read_bytes(), "compare_to": (root / b).read_bytes()})])[0].distance


def main() -> None:
    from modelbay.ml.metrics import get_family
    from modelbay.tasks.faces.public_pairs import pairs, photos_dir

    root, labelled = photos_dir(), pairs()
    truths = [same for *_, same in labelled]
    results = {}
    for name, make in (("direct dlib", direct_dlib), ("ours", ours)):
        distance = make(root)
        t0 = time.perf_counter()
        preds = [{"distance": distance(a, b), "threshold": 0.6} for a, b, _ in labelled]
        elapsed = time.perf_counter() - t0
        m = get_family("verification")(truths, preds)
        results[name] = len(labelled) / elapsed
        print(f"{name:12s} accuracy {m['accuracy']:.4f}  roc_auc {m['roc_auc']:.4f}  TAR@FAR=1e-2 {m['tar_at_far_1e-2']:.4f}"
              f"  EER {m['eer']:.4f}  best threshold {m['best_threshold']:.3f}  {results[name]:.2f} pairs/s", flush=True)
    print(f"ours / direct dlib: {results['ours'] / results['direct dlib']:.2f}x pairs/s "
          f"({sum(truths)} same, {len(truths) - sum(truths)} different pairs)")


if __name__ == "__main__":
    main()
