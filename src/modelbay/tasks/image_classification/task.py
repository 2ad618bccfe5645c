"""Image classification: EfficientNet-Lite0 over the 1000 ImageNet-1k classes, or a head trained on your photos.

Model kinds (``options.backend`` in the catalog spec or a trained model's card):

* ``imagenet`` (default) — the packaged EfficientNet-Lite0 with its ImageNet-1k classifier.
* ``transfer-head`` — the same network's pooled 1280-d features (optionally with its last
  blocks fine-tuned: ``backbone.pt``) and a small MLP head (``head.npz``) over your labels,
  described by ``head.json``. Trained by ``modelbay.tasks.image_classification.transfer``
  (``modelbay train image-classification --data photos/ --name defects``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...core.media import decode_image_field
from ...core.protocols import Evaluable, Labelled, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput
from .model import TransferHead, image_pixels, load_efficientnet

CLASSES_FILE = Path(__file__).resolve().parent / "imagenet_classes.txt"


class ImageClassificationInput(TaskInput):
    # bytes travel in JSON as base64 both ways, so a dumped input validates back to the same image
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    image: bytes | str = Field(
        ..., description="JPEG/PNG/WebP/GIF/BMP bytes, or a base64 string of them (a data: URL is fine)"
    )
    top_k: int = Field(5, ge=1, le=1000, description="how many labels to return, best first")


class Label(BaseModel):
    label: str = Field(..., description="class name: a readable ImageNet class (e.g. 'Egyptian cat') or a trained label")
    score: float = Field(..., description="softmax probability over the model's classes")
    index: int = Field(..., description="class index: ImageNet-1k index (0..999), or position in a trained model's labels")


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


@register
class ImageClassification(Task[ImageClassificationInput, ImageClassificationOutput], Trainable, Evaluable, Labelled):
    name = "image-classification"
    aliases = ("image-classifier", "classify-image", "image-recognition")
    description = "What is in a photo: top-k of the 1000 ImageNet classes (EfficientNet-Lite0), or your own trained classes"
    Input = ImageClassificationInput
    Output = ImageClassificationOutput
    default_model = "efficientnet-lite0"
    primary_field = "image"
    media_fields: ClassVar[dict[str, str]] = {"image": "image"}
    metric_family = "classification"
    target_field = "label"

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

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """``{"image": <absolute path>, "label": <class>}`` from a folder per class or a table of paths.

        Tables take ``image_col`` (or ``text_col``) and ``label_col``; every image is decoded once
        here, so a corrupt file fails early, named.
        """
        from ...data.folders import read_images

        return read_images(path, options, min_classes=1).records

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """Transfer learning on EfficientNet-Lite0 (``modelbay.tasks.image_classification.transfer``).

        ``options``: ``image_col``/``text_col``/``label_col`` for a table of paths, and any
        ``TransferConfig`` field (``image_size``, ``augment_copies``, ``hidden_sizes``,
        ``unfreeze_epochs``, ``seed``, …).
        """
        from .config import transfer_config
        from .transfer import train_image_classifier

        options = dict(options)
        table = {k: options.pop(k) for k in ("image_col", "text_col", "label_col") if k in options}
        options.pop("language", None)  # images have none; the CLI passes it for every task
        return train_image_classifier(data, out_dir, transfer_config(options), name=name, task=cls.name,
                                      progress=progress, table_options=table)

    def prediction(self, output: ImageClassificationOutput) -> str:
        """The top label, what ``modelbay eval`` compares with a record's ``label``."""
        return output.labels[0].label

    @property
    def labels(self) -> list[str] | None:
        """A trained head's labels; ``None`` for ImageNet's 1000 classes, of which a data set uses a few.

        With ``None`` the evaluator scores on the labels in the data: a per-class report and confusion
        matrix over all 1000 classes would be mostly empty.
        """
        return list(self.class_names) if self.head is not None else None

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        opts = model.spec.options
        kind = opts.get("backend", "imagenet")
        # on CPU, small chunks stay in cache: at 224 px 4 images per call ran ~2x faster per image than 32 on
        # 2 cores; at 96-128 px 16 per call was fastest
        self.cpu_chunk = int(opts.get("cpu_chunk", 4))
        if kind == "transfer-head":
            self.head = TransferHead(model.path, device)
            self.net = self.head.net
            self.image_size, self.crop_fraction = self.head.image_size, self.head.crop_fraction
            self.cpu_chunk = int(opts.get("cpu_chunk", 4 if self.image_size >= 192 else 16))
            self.mean, self.std = self.head.mean, self.head.std
            self.class_names = list(self.head.labels)
            return
        if kind != "imagenet":
            raise ValueError(f"model {model.spec.name!r}: unknown backend {kind!r}; known: imagenet, transfer-head")
        self.head = None
        self.image_size = int(opts.get("image_size", 224))
        self.crop_fraction = float(opts.get("crop_fraction", 0.875))
        self.mean = float(opts.get("mean", 127.0))
        self.std = float(opts.get("std", 128.0))
        weights = model.file(opts.get("weights", "efficientnet-lite0-57934424.pth"))
        self.net = load_efficientnet(weights, opts.get("architecture", "efficientnet-lite0"), device)
        self.class_names = [name for _, name in imagenet_classes()]

    def preprocess(self, items: list[ImageClassificationInput]) -> Any:
        import numpy as np

        size = self.image_size
        batch = np.empty((len(items), size, size, 3), dtype=np.float32)
        for i, item in enumerate(items):
            img = decode_image_field(item.image)
            batch[i] = image_pixels(img, size, self.crop_fraction)
        batch -= self.mean
        batch /= self.std
        return batch  # (n, height, width, 3): already the memory layout of torch's channels_last

    def _forward(self, batch) -> Any:
        import torch

        x = torch.from_numpy(batch).permute(0, 3, 1, 2).to(self.device).contiguous(memory_format=torch.channels_last)
        chunk = self.cpu_chunk if x.device.type == "cpu" else len(x)
        with torch.inference_mode():
            if self.head is not None:
                feats = torch.cat([self.net.extract_features(part).mean((2, 3)) for part in x.split(max(1, chunk))])
                return self.head.predict_proba(feats.float().cpu().numpy())
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
                    labels=[Label(label=self.class_names[j], score=float(probs[j]), index=int(j)) for j in top]
                )
            )
        return outputs
