"""Face verification: is it the same person (1:1), and who is it among the faces enrolled in a gallery (1:N).

One task, four actions, chosen by the ``action`` field — one endpoint and one schema, so a client,
the CLI (``-p action=enroll``) and a batch all speak the same request:

* ``verify`` (default): ``image`` and ``compare_to``; the Euclidean distance of their largest faces'
  embeddings, and ``same_person`` = distance <= threshold;
* ``enroll``: add ``image``'s largest face to ``gallery`` as ``identity`` (SQLite, ``gallery.py``);
* ``search``: the ``top_k`` identities of ``gallery`` nearest to ``image``'s largest face;
* ``remove``: forget every face of ``identity`` in ``gallery``.

The threshold is the model's (dlib's 0.6, or the one ``modelbay train face-verification``
calibrated on your labelled pairs, ``calibrate.py``), or the request's ``threshold``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...core.errors import BadInput
from ...core.protocols import Evaluable, Rendering, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput
from .common import IMAGE_HELP, Box, Detector, decoded, example_photos, face_models
from .model import DLIB_THRESHOLD, EMBEDDING_SPACE

NEEDS = {"verify": ("image", "compare_to"), "enroll": ("image", "gallery", "identity"),
         "search": ("image", "gallery"), "remove": ("gallery", "identity")}


class FaceVerificationInput(TaskInput):
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    action: Literal["verify", "enroll", "search", "remove"] = Field(
        "verify", description="verify (1:1, image vs compare_to), enroll (image into gallery as identity), "
                              "search (image against gallery) or remove (identity from gallery)")
    image: bytes | str | None = Field(None, description=f"the face photo; its largest face is used. {IMAGE_HELP}")
    compare_to: bytes | str | None = Field(None, description="verify: the second photo")
    gallery: str | None = Field(None, description="enroll/search/remove: the gallery's name (1-128 characters)")
    identity: str | None = Field(None, description="enroll/remove: who the face is (1-128 characters)")
    top_k: int = Field(5, ge=1, le=100, description="search: how many identities to return, nearest first")
    threshold: float | None = Field(None, gt=0, le=2, description="distance at or below which faces are the same "
                                                                  "person; default: the model's (calibrated) one")
    detector: Detector = Field("hog", description="hog (default), cnn (slower, more poses) or haar")

    @model_validator(mode="after")
    def _fields_of_the_action(self) -> FaceVerificationInput:
        from .gallery import check_name

        missing = [f for f in NEEDS[self.action] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"action {self.action!r} needs {', '.join(NEEDS[self.action])}; missing: {', '.join(missing)}")
        for field in ("gallery", "identity"):
            if getattr(self, field) is not None:
                check_name(getattr(self, field), field)
        return self


class Match(BaseModel):
    identity: str
    distance: float = Field(..., description="Euclidean distance to the identity's nearest enrolled face")
    same_person: bool = Field(..., description="distance <= threshold")


class FaceVerificationOutput(TaskOutput):
    action: str
    threshold: float = Field(..., description="the distance threshold used")
    distance: float | None = Field(None, description="verify: embedding distance of the two faces (None: a face is missing)")
    same_person: bool | None = Field(None, description="verify: distance <= threshold; None when a photo has no face")
    face: Box | None = Field(None, description="the face used in image (its largest)")
    compare_face: Box | None = Field(None, description="verify: the face used in compare_to")
    faces_found: int = Field(0, description="faces detected in image")
    matches: list[Match] = Field(default_factory=list, description="search: nearest identities first")
    gallery: str | None = None
    identity: str | None = None
    identity_faces: int | None = Field(None, description="enroll: the identity's faces now; remove: faces removed")
    gallery_faces: int | None = Field(None, description="search: faces in the gallery")
    note: str | None = Field(None, description="why there is no answer (e.g. no face in a photo)")

    def summary(self) -> str:
        if self.note:
            return self.note
        if self.action == "verify":
            verdict = "same person" if self.same_person else "different people"
            return f"{verdict} (distance {self.distance:.3f}, threshold {self.threshold:.3f})"
        if self.action == "search":
            found = ", ".join(f"{m.identity} {m.distance:.3f}{' ✓' if m.same_person else ''}" for m in self.matches)
            return f"{self.gallery}: {found or 'empty gallery'}"
        verb = "enrolled" if self.action == "enroll" else "removed"
        return f"{verb} {self.identity} in {self.gallery} ({self.identity_faces} face(s))"


@register
class FaceVerification(Task[FaceVerificationInput, FaceVerificationOutput], Trainable, Evaluable, Rendering):
    """Same person or not (1:1), and enrol/search/remove faces in a SQLite gallery (1:N)."""

    name = "face-verification"
    aliases = ("face-recognition", "verify-faces", "face-search")
    description = "Same person? 1:1 face verification with a calibrated threshold, and 1:N search of an enrolled gallery (dlib ResNet)"
    Input = FaceVerificationInput
    Output = FaceVerificationOutput
    default_model = "dlib-face-resnet"
    primary_field = "image"
    media_fields: ClassVar[dict[str, str]] = {"image": "image", "compare_to": "image"}
    batchable = False
    metric_family = "verification"
    target_field = "same"

    @classmethod
    def examples(cls) -> list:
        """Eileen Collins against a crop of herself, and against Grace Hopper (public-domain portraits)."""
        import io

        from PIL import Image

        astronaut, hopper = example_photos()
        buf = io.BytesIO()
        Image.open(io.BytesIO(astronaut)).crop((80, 0, 380, 300)).save(buf, format="PNG")
        return [{"image": astronaut, "compare_to": buf.getvalue()}, {"image": astronaut, "compare_to": hopper}]

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Labelled pairs from a table: ``image``/``image_a``, ``compare_to``/``image_b`` (paths) and ``same``."""
        from .calibrate import read_pairs

        return read_pairs(path, options)

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """Calibrate the distance threshold on labelled pairs (``calibrate.py``); the embedding stays dlib's."""
        from .calibrate import calibrate

        return calibrate(cls, data, out_dir, dict(options), progress=progress, name=name)

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        self.faces = face_models(model)
        self.threshold = float(self.faces.options.get("threshold", DLIB_THRESHOLD))
        self.model_name = model.spec.name

    def prediction(self, output: FaceVerificationOutput) -> dict[str, Any]:
        """What the verification metrics score: the distance and the decision at the threshold."""
        return {"distance": output.distance, "same": output.same_person, "threshold": output.threshold}

    def _forward(self, items: list[FaceVerificationInput]) -> list[FaceVerificationOutput]:
        return [self.run_one(item) for item in items]

    def largest_face(self, value, field: str, detector: str) -> tuple[Any, list[float] | None, int]:
        """``(box, embedding, faces found)`` of a photo's largest face; ``(None, None, 0)`` when it has none."""
        _, pixels = decoded(value, field)
        found = self.faces.detect(pixels, detector)
        if not found:
            return None, None, 0
        shapes = self.faces.shapes(pixels, found[:1], 5)
        return Box.of(found[0].box), self.faces.embeddings(pixels, shapes)[0], len(found)

    def gallery(self):
        """The gallery store under the current ``MODELBAY_HOME`` (its schema set up once per file)."""
        from .gallery import Gallery, gallery_file

        path = gallery_file()
        if getattr(self, "_gallery", None) is None or self._gallery.path != path:
            self._gallery = Gallery(path)
        return self._gallery

    def run_one(self, item: FaceVerificationInput) -> FaceVerificationOutput:
        threshold = item.threshold or self.threshold
        out = FaceVerificationOutput(action=item.action, threshold=threshold, gallery=item.gallery, identity=item.identity)
        if item.action == "remove":
            out.identity_faces = self.gallery().remove(item.gallery, item.identity)
            return out
        out.face, vector, out.faces_found = self.largest_face(item.image, "image", item.detector)
        if vector is None:
            if item.action == "enroll":
                raise BadInput("image: no face found to enroll", hint="send a photo with a clear, frontal face")
            out.note = "no face found in image"
            return out
        if item.action == "enroll":
            out.identity_faces = self.gallery().enroll(item.gallery, item.identity, vector, EMBEDDING_SPACE)
        elif item.action == "search":
            ranked, out.gallery_faces = self.gallery().search(item.gallery, vector, EMBEDDING_SPACE, item.top_k)
            out.matches = [Match(identity=n, distance=d, same_person=d <= threshold) for n, d in ranked]
        else:
            out.compare_face, other, _ = self.largest_face(item.compare_to, "compare_to", item.detector)
            if other is None:
                out.note = "no face found in compare_to"
                return out
            import numpy as np

            out.distance = round(float(np.linalg.norm(np.asarray(vector) - np.asarray(other))), 6)
            out.same_person = out.distance <= threshold
        return out

    def render(self, item: FaceVerificationInput, output: FaceVerificationOutput) -> bytes:
        """Verify: both photos side by side with their faces boxed; otherwise the photo with its face and result."""
        from .render import render_verification

        return render_verification(item, output)
