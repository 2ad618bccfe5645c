"""Image segmentation: which pixels belong to what, as segments with COCO RLE masks.

Model kinds (``options.backend`` in the catalog spec or a trained model's card):

* ``selfie`` (default model ``selfie-segmentation``) — MediaPipe's Selfie Segmentation: ``person`` vs
  ``background``, a converted TF.js graph run by onnxruntime (``selfie.py``).
* ``classical`` (model ``segmentation-slic``) — unsupervised regions (SLIC superpixels,
  Felzenszwalb, watershed), labelled ``region 1``…, or GrabCut's ``foreground``/``background`` (``classical.py``).
  These are regions of similar colour, not classes: nothing is recognised.
* ``hub`` — a transformers semantic-segmentation checkpoint (SegFormer, Mask2Former…) from a
  ``hub:`` or ``local:`` source (``hub.py``); never downloaded while offline.
* ``trained-head`` — a per-pixel head over frozen EfficientNet-Lite0 features, trained on your
  images and masks by ``modelbay train image-segmentation --data DIR`` (``head.py``, ``train.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...core.media import decode_image_field
from ...core.protocols import Evaluable, Rendering, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput
from .masks import label_map_of, mask_png, segments_of


class ImageSegmentationInput(TaskInput):
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    image: bytes | str = Field(..., description="JPEG/PNG/WebP/GIF/BMP bytes, or a base64 string of them")
    classes: list[str] | None = Field(None, description="return only segments with these labels (others are left out)")
    threshold: float | None = Field(None, ge=0.0, le=1.0,
                                    description="pixels whose best class probability is below this belong to no segment "
                                                "(model backends; classical methods have no probabilities)")
    min_area_px: int = Field(0, ge=0, description="leave out segments smaller than this many pixels")
    method: str | None = Field(None, description="classical models only: slic, felzenszwalb, watershed or grabcut "
                                                 "(default: the model's)")
    n_segments: int | None = Field(None, ge=1, le=5000, description="classical slic/watershed: about how many regions")
    box: list[int] | None = Field(None, min_length=4, max_length=4,
                                  description="classical grabcut: [x0, y0, x1, y1] in pixels around the foreground "
                                              "(default: 10% in from every edge)")
    return_mask: bool = Field(False, description="also return the whole mask as a base64 PNG (mask_png)")


class RLE(BaseModel):
    size: list[int] = Field(..., description="[height, width]")
    counts: str = Field(..., description="COCO compressed RLE (pycocotools' mask.decode reads it), column-major runs")


class Segment(BaseModel):
    label: str = Field(..., description="class name, or 'region k' for classical (unsupervised) methods")
    score: float | None = Field(None, description="mean probability of the label over its pixels; None for classical")
    area_px: int = Field(..., description="pixels in the segment")
    box: list[int] = Field(..., description="[x0, y0, x1, y1] in pixels, x1/y1 exclusive")
    mask_rle: RLE


class ImageSegmentationOutput(TaskOutput):
    width: int
    height: int
    method: str = Field(..., description="what made the segments, e.g. 'slic (unsupervised regions, not classes)'")
    segments: list[Segment] = Field(..., description="largest first")
    mask_png: str | None = Field(None, description="with return_mask: base64 PNG, pixel value k = segments[k-1], 0 = none")

    def summary(self) -> str:
        total = max(1, self.width * self.height)
        shown = ", ".join(f"{s.label} {100 * s.area_px / total:.0f}%" for s in self.segments[:6])
        more = f", … {len(self.segments) - 6} more" if len(self.segments) > 6 else ""
        return f"{len(self.segments)} segments ({self.method}): {shown}{more}"


@register
class ImageSegmentation(Task[ImageSegmentationInput, ImageSegmentationOutput], Trainable, Evaluable, Rendering):
    name = "image-segmentation"
    aliases = ("segmentation", "semantic-segmentation", "segment-image")
    description = ("Which pixels are what: person vs background (MediaPipe selfie model), unsupervised regions "
                   "(SLIC, Felzenszwalb, watershed, GrabCut: regions, not classes), hub SegFormer/Mask2Former models, "
                   "or a head trained on your masks; COCO RLE and PNG masks, mIoU evaluation")
    Input = ImageSegmentationInput
    Output = ImageSegmentationOutput
    default_model = "selfie-segmentation"
    primary_field = "image"
    media_fields: ClassVar[dict[str, str]] = {"image": "image"}
    metric_family = "segmentation"
    target_field = "mask"
    batchable = False  # images of any size go through one at a time

    @classmethod
    def examples(cls) -> list:
        """Drawn in code: a red disc on a blue field (PNG) and two grey squares on white (JPEG)."""

        from PIL import Image, ImageDraw

        disc = Image.new("RGB", (96, 64), (40, 60, 160))
        ImageDraw.Draw(disc).ellipse((24, 8, 72, 56), fill=(210, 30, 30))
        squares = Image.new("RGB", (80, 60), "white")
        ImageDraw.Draw(squares).rectangle((5, 5, 35, 35), fill=(90, 90, 90))
        ImageDraw.Draw(squares).rectangle((45, 20, 75, 55), fill=(20, 20, 20))
        from ...ml.vision.draw import image_bytes

        out = [image_bytes(disc, "PNG"), image_bytes(squares, "JPEG")]
        return [out[0], {"image": out[1], "min_area_px": 20, "return_mask": True}]

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """``{"image": path, "mask": {"mask": path, "classes": [...]}}`` from ``DIR/images`` + ``DIR/masks`` (``data.py``)."""
        from .data import read_mask_folder

        return read_mask_folder(path).records

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """A per-pixel head over frozen EfficientNet-Lite0 features (``train.py``; options: ``HeadConfig`` fields)."""
        from .train import train_segmentation_head

        options = {k: v for k, v in dict(options).items() if k != "language"}  # the CLI passes it for every task
        return train_segmentation_head(data, out_dir, options, name=name, task=cls.name, progress=progress)

    def prediction(self, output: ImageSegmentationOutput) -> dict[str, Any]:
        """What the ``segmentation`` metric family reads: the size and the segments with their RLE masks."""
        return {"size": [output.height, output.width],
                "segments": [{"label": s.label, "mask_rle": s.mask_rle.model_dump()} for s in output.segments]}

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        opts = dict(model.spec.options)
        self.backend_kind = opts.get("backend", "classical")
        if self.backend_kind == "classical":
            self.backend = None
            self.method = str(opts.get("method", "slic"))
        elif self.backend_kind == "hub":
            from .hub import HubSegmenter

            self.backend = HubSegmenter(model.path, opts, device, name=model.spec.name)
        elif self.backend_kind == "selfie":
            from .selfie import SelfieSegmenter

            self.backend = SelfieSegmenter(model.path, opts, device)
        elif self.backend_kind == "trained-head":
            from .head import SegmentationHead

            self.backend = SegmentationHead(model.path, device)
        else:
            raise ValueError(f"model {model.spec.name!r}: unknown backend {self.backend_kind!r}; "
                             "known: classical, selfie, hub, trained-head")
        self.options = opts

    def preprocess(self, items: list[ImageSegmentationInput]) -> list:
        return [(decode_image_field(item.image), item)
                for item in items]

    def _forward(self, batch: list) -> list:
        return [self._segment(img, item) for img, item in batch]

    def _segment(self, img, item: ImageSegmentationInput):
        if self.backend is None:
            from .classical import segment_classical

            method = item.method or self.method
            opts = {**self.options, **({"n_segments": item.n_segments} if item.n_segments else {}),
                    **({"box": item.box} if item.box else {})}
            what = "foreground/background from a box, not classes" if method == "grabcut" else "unsupervised regions, not classes"
            return segment_classical(img, method, opts), f"{method} ({what})"
        for field in ("method", "n_segments", "box"):
            if getattr(item, field) is not None:
                from ...core.errors import BadInput

                raise BadInput(f"{field}: only classical models take it; {self.model.spec.name!r} is {self.backend_kind}",
                               hint="leave it out, or pass --model segmentation-slic for unsupervised regions")
        return self.backend.segment(img, item.threshold), self.backend.describe

    def postprocess(self, raw: list, items: list[ImageSegmentationInput]) -> list[ImageSegmentationOutput]:
        outputs = []
        for (labels, method), item in zip(raw, items):
            keep = set(item.classes) if item.classes is not None else None
            if keep and self.backend is not None and keep - set(labels.names):
                from ...core.errors import BadInput

                raise BadInput(f"classes: {sorted(keep - set(labels.names))} not among the classes of {self.model.spec.name!r}",
                               hint=f"its classes: {', '.join(labels.names[:40])}" + (" …" if len(labels.names) > 40 else ""))
            segments = segments_of(labels, keep=keep, min_area_px=item.min_area_px)
            h, w = labels.index.shape
            png = mask_png(label_map_of(segments, h, w)) if item.return_mask else None
            outputs.append(ImageSegmentationOutput(width=w, height=h, method=method, segments=segments, mask_png=png))
        return outputs

    def render(self, item: ImageSegmentationInput, output: ImageSegmentationOutput) -> bytes:
        """The image with each segment tinted in its label's colour and its outline drawn."""
        from ...ml.vision.draw import overlay_mask, png_bytes
        from .masks import outlined

        img = decode_image_field(item.image)
        index = label_map_of(output.segments, output.height, output.width)
        tinted = overlay_mask(img, index, alpha=0.45, keys=["", *(s.label for s in output.segments)])
        return png_bytes(outlined(tinted, index))
