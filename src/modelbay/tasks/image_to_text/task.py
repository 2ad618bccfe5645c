"""image-to-text: a sentence about a photo.

Two kinds of model (``options.backend``):

* ``composed`` (default, offline): classification + object detection + OCR of the other capabilities,
  assembled into a sentence that says it is composed (``method: "composed"``);
* ``caption``: a caption model from the catalog when installed (VisionEncoderDecoder such as ViT-GPT2, or
  BLIP through ``AutoModelForImageTextToText``), ``method: "caption-model"``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import ModelUnavailable
from ...core.media import decode_image, media_bytes
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput


class ImageToTextInput(TaskInput):
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    image: bytes | str = Field(..., description="JPEG/PNG/WebP/GIF/BMP bytes, or a base64 string of them (a data: URL is fine)")
    max_new_tokens: int = Field(30, ge=1, le=128, description="caption models: the longest caption, in tokens")
    min_score: float = Field(0.2, ge=0.0, le=1.0, description="composed: leave out labels and objects scoring below this")


class ScoredLabel(BaseModel):
    label: str
    score: float


class ObjectCount(BaseModel):
    label: str
    count: int = Field(..., description="how many boxes of this label")
    score: float = Field(..., description="the best box's score")


class ImageToTextParts(BaseModel):
    caption: str | None = Field(None, description="caption-model: the model's caption")
    model: str = Field(..., description="the catalog model that produced the text")
    labels: list[ScoredLabel] = Field(default_factory=list, description="composed: image-classification labels used")
    objects: list[ObjectCount] = Field(default_factory=list, description="composed: object-detection counts used")
    text_in_image: str | None = Field(None, description="composed: the OCR text used")
    notes: list[str] = Field(default_factory=list, description="parts that were left out, and why")


class ImageToTextOutput(TaskOutput):
    text: str = Field(..., description="the description; a composed one starts 'Composed description (no caption model)'")
    method: Literal["composed", "caption-model"] = Field(..., description="how the text was made")
    parts: ImageToTextParts = Field(..., description="what the text was made from")

    def summary(self) -> str:
        return f"[{self.method}] {self.text}"


def installed_caption_model(name: str):
    """``(the resolved caption model, None)`` when ``name`` is installed, else ``(None, a note saying why not)``."""
    from ...core.catalog import resolve
    from ...core.errors import ModelbayError

    try:
        return resolve(name), None
    except ModelbayError as exc:
        return None, f"caption model {name!r} not installed, so composed ({str(exc).splitlines()[0][:120]})"


@register
class ImageToText(Task[ImageToTextInput, ImageToTextOutput]):
    name = "image-to-text"
    aliases = ("caption", "image-captioning", "describe-image")
    description = "A sentence about a photo: a caption model when installed, else composed from classification, detection and OCR"
    Input = ImageToTextInput
    Output = ImageToTextOutput
    default_model = "image-to-text-composed"
    primary_field = "image"
    media_fields: ClassVar[dict[str, str]] = {"image": "image"}

    @classmethod
    def examples(cls) -> list:
        """A red disc on white (PNG) and a sign with printed text (PNG)."""

        from PIL import Image, ImageDraw

        disc = Image.new("RGB", (160, 120), "white")
        ImageDraw.Draw(disc).ellipse((40, 20, 120, 100), fill=(200, 30, 30))
        sign = Image.new("RGB", (320, 100), (240, 240, 240))
        ImageDraw.Draw(sign).text((20, 30), "OPEN 9-5", fill="black", font_size=36)
        from ...ml.vision.draw import png_bytes

        out = [png_bytes(disc), png_bytes(sign)]
        return [out[0], {"image": out[1], "min_score": 0.1}]

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        opts = model.spec.options
        self.backend = opts.get("backend", "composed")
        self.model_name = model.spec.name
        self.notes: list[str] = []
        if self.backend == "composed" and opts.get("caption_model"):
            found, note = installed_caption_model(str(opts["caption_model"]))
            if found is not None:
                self.backend, self.model_name, model = "caption", found.spec.name, found
            else:
                self.notes.append(note)
        if self.backend == "composed":
            from .compose import load_parts

            self.parts, notes = load_parts(opts, device)
            self.notes = notes + self.notes
        elif self.backend == "caption":
            from .caption import Captioner

            self.captioner = Captioner(model.path, device)
        else:
            raise ModelUnavailable(f"model {model.spec.name!r}: unknown backend {self.backend!r}; known: composed, caption")

    def preprocess(self, items: list[ImageToTextInput]) -> list[tuple[ImageToTextInput, bytes, Any]]:
        """Every image decoded (bounded) once here: a bad one fails the batch before any model runs."""
        out = []
        for item in items:
            data = media_bytes(item.image, kind="image", field="image", allow_paths=False)
            out.append((item, data, decode_image(data)))
        return out

    def _forward(self, batch: list[tuple[ImageToTextInput, bytes, Any]]) -> list[ImageToTextOutput]:
        if self.backend == "caption":
            return self._captions(batch)
        from .compose import describe

        outputs = []
        for item, data, _ in batch:
            d = describe(self.parts, data, item.min_score)
            outputs.append(ImageToTextOutput(text=d["text"], method="composed", parts=ImageToTextParts(
                model=self.model_name, labels=d["labels"], objects=d["objects"], text_in_image=d["text_in_image"],
                notes=list(self.notes))))
        return outputs

    def _captions(self, batch) -> list[ImageToTextOutput]:
        """Caption model: images with the same ``max_new_tokens`` go through ``generate`` together."""
        captions: dict[int, str] = {}
        for size in sorted({item.max_new_tokens for item, _, _ in batch}):
            idx = [i for i, (item, _, _) in enumerate(batch) if item.max_new_tokens == size]
            captions.update(zip(idx, self.captioner([batch[i][2] for i in idx], size)))
        return [ImageToTextOutput(text=captions[i], method="caption-model",
                                  parts=ImageToTextParts(caption=captions[i], model=self.model_name))
                for i in range(len(batch))]
