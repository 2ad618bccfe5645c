"""Image classification: EfficientNet-Lite0 over the 1000 ImageNet-1k classes, with readable names."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ..core.media import decode_image, media_bytes
from ..core.registry import register
from ..core.task import Task, TaskInput, TaskOutput

CLASSES_FILE = Path(__file__).resolve().parent.parent / "data" / "imagenet_classes.txt"


class ImageClassificationInput(TaskInput):
    # bytes travel in JSON as base64 both ways, so a dumped input validates back to the same image
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    image: bytes | str = Field(
        ..., description="JPEG/PNG/WebP/GIF/BMP bytes, or a base64 string of them (a data: URL is fine)"
    )
    top_k: int = Field(5, ge=1, le=1000, description="how many labels to return, best first")


class Label(BaseModel):
    label: str = Field(..., description="readable ImageNet class name, e.g. 'Egyptian cat'")
    score: float = Field(..., description="softmax probability over the 1000 classes")
    index: int = Field(..., description="ImageNet-1k class index (0..999)")


class ImageClassificationOutput(TaskOutput):
    labels: list[Label] = Field(..., description="top_k labels sorted by score, highest first")

    def summary(self) -> str:
        return ", ".join(f"{item.label} {item.score:.2f}" for item in self.labels)


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> tuple[tuple[str, str], ...]:
    """The 1000 ImageNet-1k classes in model output order, as ``(wordnet_id, readable_name)``.

    >>> imagenet_classes()[285]
    ('n02124075', 'Egyptian cat')
    """
    rows = []
    for line in CLASSES_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            wnid, _, name = line.partition("\t")
            rows.append((wnid, name))
    if len(rows) != 1000:
        raise RuntimeError(f"{CLASSES_FILE} lists {len(rows)} classes; expected 1000 (reinstall modelbay)")
    return tuple(rows)


def center_crop_box(width: int, height: int, crop_fraction: float) -> tuple[int, int, int, int]:
    """The centred square ``(left, top, right, bottom)`` covering ``crop_fraction`` of the shorter side.

    Matches the TF EfficientNet eval crop (``image_size / (image_size + 32)`` of the shorter side).

    >>> center_crop_box(451, 300, 0.875)
    (95, 19, 357, 281)
    """
    side = max(1, int(crop_fraction * min(width, height)))
    left = (width - side + 1) // 2
    top = (height - side + 1) // 2
    return left, top, left + side, top + side


@register
class ImageClassification(Task[ImageClassificationInput, ImageClassificationOutput]):
    name = "image-classification"
    aliases = ("image-classifier", "classify-image", "image-recognition")
    description = "What is in a photo: top-k of the 1000 ImageNet classes with readable names (EfficientNet-Lite0)"
    Input = ImageClassificationInput
    Output = ImageClassificationOutput
    default_model = "efficientnet-lite0"
    primary_field = "image"
    media_fields: ClassVar[dict[str, str]] = {"image": "image"}

    @classmethod
    def examples(cls) -> list:
        """Small images drawn in code: a red disc on white (PNG) and a blue-green gradient (JPEG)."""
        import io

        import numpy as np
        from PIL import Image, ImageDraw

        disc = Image.new("RGB", (96, 64), "white")
        ImageDraw.Draw(disc).ellipse((24, 8, 72, 56), fill=(200, 30, 30))
        ramp = np.linspace(0, 255, 80, dtype=np.uint8)
        gradient = Image.fromarray(
            np.stack([np.zeros((60, 80), np.uint8), np.tile(ramp, (60, 1)), np.tile(ramp[::-1], (60, 1))], -1)
        )
        out = []
        for img, fmt in ((disc, "PNG"), (gradient, "JPEG")):
            buf = io.BytesIO()
            img.save(buf, format=fmt)
            out.append(buf.getvalue())
        return [out[0], {"image": out[1], "top_k": 3}]

    def setup(self, model, device="cpu") -> None:
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        super().setup(model, device)
        opts = model.spec.options
        self.image_size = int(opts.get("image_size", 224))
        self.crop_fraction = float(opts.get("crop_fraction", 0.875))
        self.mean = float(opts.get("mean", 127.0))
        self.std = float(opts.get("std", 128.0))
        weights = model.file(opts.get("weights", "efficientnet-lite0-57934424.pth"))
        # from_name + our own load: the package's from_pretrained prints and loads with weights_only off
        net = EfficientNet.from_name(opts.get("architecture", "efficientnet-lite0"), num_classes=1000)
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
        # channels-last is ~1.3x faster for these depthwise convolutions on CPU (measured with oneDNN)
        self.net = net.eval().to(device, memory_format=torch.channels_last)
        # on CPU, small chunks stay in cache: 4 images per call ran ~2x faster per image than 32 on 2 cores
        self.cpu_chunk = int(opts.get("cpu_chunk", 4))
        self.classes = imagenet_classes()

    def preprocess(self, items: list[ImageClassificationInput]) -> Any:
        import numpy as np
        from PIL import Image

        size = self.image_size
        batch = np.empty((len(items), size, size, 3), dtype=np.float32)
        for i, item in enumerate(items):
            img = decode_image(media_bytes(item.image, kind="image", field="image", allow_paths=False))
            box = center_crop_box(*img.size, self.crop_fraction)
            # crop and resize in one step; reducing_gap keeps very large photos cheap to shrink
            batch[i] = np.asarray(img.resize((size, size), Image.BICUBIC, box=box, reducing_gap=3.0))
        batch -= self.mean
        batch /= self.std
        return batch  # (n, height, width, 3): already the memory layout of torch's channels_last

    def _forward(self, batch) -> Any:
        import torch

        x = torch.from_numpy(batch).permute(0, 3, 1, 2).to(self.device).contiguous(memory_format=torch.channels_last)
        chunk = self.cpu_chunk if x.device.type == "cpu" else len(x)
        with torch.inference_mode():
            logits = torch.cat([self.net(part) for part in x.split(max(1, chunk))])
            return torch.softmax(logits.float(), dim=-1).cpu().numpy()

    def postprocess(self, raw, items: list[ImageClassificationInput]) -> list[ImageClassificationOutput]:
        import numpy as np

        outputs = []
        for probs, item in zip(raw, items):
            k = min(item.top_k, len(probs))
            # stable sort on (-score, index) so ties come out in a fixed order
            top = np.lexsort((np.arange(len(probs)), -probs))[:k]
            outputs.append(
                ImageClassificationOutput(
                    labels=[Label(label=self.classes[j][1], score=float(probs[j]), index=int(j)) for j in top]
                )
            )
        return outputs
