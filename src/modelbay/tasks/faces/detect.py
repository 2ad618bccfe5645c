"""Face detection: boxes, 5-point landmarks and 128-d embeddings of every face in a photo; blur to anonymise.

>>> from modelbay import pipeline                                          # doctest: +SKIP
>>> out = pipeline("face-detection")([{"image": "team.jpg", "embeddings": True}])[0]   # doctest: +SKIP
>>> [f.box for f in out.faces]                                             # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...core.protocols import Rendering
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput
from .common import IMAGE_HELP, Box, Detector, decoded, example_photos, face_models
from .model import points_of


class FaceDetectionInput(TaskInput):
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    image: bytes | str = Field(..., description=IMAGE_HELP)
    detector: Detector = Field("hog", description="hog (default: fast, frontal faces), cnn (dlib MMOD: more poses, "
                                                  "~100x slower on a CPU) or haar (OpenCV cascade: light fallback)")
    landmarks: bool = Field(True, description="return landmarks of each face")
    landmark_points: int = Field(5, description="5 (default: eye corners and nose base) or 68; the 68-point model's "
                                                "training data (iBUG 300-W) is licensed for non-commercial use only")
    embeddings: bool = Field(False, description="return each face's 128-d dlib ResNet embedding (compare by Euclidean "
                                                "distance; < 0.6 is usually the same person)")
    blur: bool = Field(False, description="anonymise: the rendered picture has every face blurred instead of boxed")
    upsample: int | None = Field(None, ge=0, le=2, description="times to double the image before searching (finds "
                                 "smaller faces, ~4x slower each); default: the model's (hog 1, cnn 0, haar 0)")
    min_score: float | None = Field(None, description="drop faces scoring below this; default: the model's per detector")
    max_faces: int = Field(100, ge=1, le=1000, description="return at most this many faces, largest first")


class Face(BaseModel):
    box: Box
    score: float = Field(..., description="detector confidence: the HOG/CNN margin or the Haar stage weight (higher = surer)")
    landmarks: list[list[float]] | None = Field(None, description="[[x, y], ...] in pixels: 5 points (right eye outer, "
                                                "right eye inner, left eye outer, left eye inner, nose base) or 68")
    embedding: list[float] | None = Field(None, description="128-d face embedding (dlib ResNet), when asked for")


class FaceDetectionOutput(TaskOutput):
    faces: list[Face] = Field(..., description="faces found, largest first")
    width: int = Field(..., description="image width in pixels")
    height: int = Field(..., description="image height in pixels")
    detector: str = Field(..., description="the detector that found them")

    def summary(self) -> str:
        if not self.faces:
            return f"no face found ({self.detector})"
        boxes = "; ".join(f"[{f.box.x0:.0f},{f.box.y0:.0f},{f.box.x1:.0f},{f.box.y1:.0f}] {f.score:.2f}"
                          for f in self.faces[:5])
        more = f" (+{len(self.faces) - 5} more)" if len(self.faces) > 5 else ""
        return f"{len(self.faces)} face{'s' if len(self.faces) != 1 else ''} ({self.detector}): {boxes}{more}"


#: each side of a face box is pushed out by this share of the box's size before blurring
BLUR_MARGIN = 0.25


def _widened(box: tuple[float, float, float, float], margin: float) -> tuple[float, float, float, float]:
    dx, dy = (box[2] - box[0]) * margin, (box[3] - box[1]) * margin
    return (box[0] - dx, box[1] - dy, box[2] + dx, box[3] + dy)


@register
class FaceDetection(Task[FaceDetectionInput, FaceDetectionOutput], Rendering):
    """Find faces with dlib (HOG by default), their landmarks and embeddings; ``--render`` draws or blurs them."""

    name = "face-detection"
    aliases = ("faces", "detect-faces", "face-detector")
    description = "Faces in a photo: boxes, 5-point landmarks and 128-d embeddings (dlib HOG/CNN, OpenCV Haar); blur to anonymise"
    Input = FaceDetectionInput
    Output = FaceDetectionOutput
    default_model = "dlib-face-hog"
    primary_field = "image"
    media_fields: ClassVar[dict[str, str]] = {"image": "image"}
    batchable = False  # dlib works on one image at a time

    @classmethod
    def examples(cls) -> list:
        """Eileen Collins (scikit-image) and Grace Hopper (matplotlib): public-domain portraits in dependencies."""
        astronaut, hopper = example_photos()
        return [astronaut, {"image": hopper, "embeddings": True, "blur": True}]

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        self.faces = face_models(model)

    def _forward(self, items: list[FaceDetectionInput]) -> list[FaceDetectionOutput]:
        return [self.detect_one(item) for item in items]

    def detect_one(self, item: FaceDetectionInput) -> FaceDetectionOutput:
        from ...core.errors import BadInput

        if item.landmark_points not in (5, 68):
            raise BadInput(f"landmark_points: {item.landmark_points} is not offered; use 5 or 68")
        _, pixels = decoded(item.image, "image")
        found = self.faces.detect(pixels, item.detector, item.upsample, item.min_score)[: item.max_faces]
        shapes_5 = self.faces.shapes(pixels, found, 5) if (item.embeddings or item.landmarks) else []
        points: list[Any] = [None] * len(found)
        if item.landmarks:
            shapes = shapes_5 if item.landmark_points == 5 else self.faces.shapes(pixels, found, 68)
            points = [points_of(s) for s in shapes]
        vectors = self.faces.embeddings(pixels, shapes_5) if item.embeddings else [None] * len(found)
        faces = [Face(box=Box.of(f.box), score=f.score, landmarks=p, embedding=v) for f, p, v in zip(found, points, vectors)]
        return FaceDetectionOutput(faces=faces, width=pixels.shape[1], height=pixels.shape[0], detector=item.detector)

    def render(self, item: FaceDetectionInput, output: FaceDetectionOutput) -> bytes:
        """The photo with each face boxed and its landmarks dotted; with ``blur`` every face blurred instead."""
        from ...ml.vision.draw import blur_regions, draw_boxes, draw_points, png_bytes

        image, _ = decoded(item.image, "image")
        boxes = [f.box.xyxy() for f in output.faces]
        if item.blur:  # detector boxes hug the eyes-to-mouth area: widen them so hair line and chin are hidden too
            return png_bytes(blur_regions(image, [_widened(b, BLUR_MARGIN) for b in boxes]))
        drawn = draw_boxes(image, boxes, [f"face {f.score:.2f}" for f in output.faces], keys=["face"] * len(boxes))
        points = [tuple(p) for f in output.faces for p in (f.landmarks or [])]
        if points:
            drawn = draw_points(drawn, points, radius_px=max(2, image.width // 300), key="landmarks")
        return png_bytes(drawn)
