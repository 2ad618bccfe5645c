"""The trained segmentation model format, reader and writer together: a per-pixel head over frozen
EfficientNet-Lite0 features.

The image is resized to ``image_size`` square (aspect not kept), normalised as the ImageNet
checkpoint expects ((pixel - 127) / 128), and run through the network's stem and blocks. The last
feature maps at strides 8, 16 and 32 (40 + 112 + 320 channels at 224-256 px) are upsampled to
stride 8 and concatenated; the head is an MLP applied at every position giving class
logits at stride 8, upsampled bilinearly to the original image and soft-maxed.

Files: ``seg_head.json`` (format, labels, image_size, channels, backbone), ``seg_head.pt`` (the
head's tensors; read with ``weights_only=True``). The backbone is the catalog model
``efficientnet-lite0`` (its sha256 is checked by ``modelbay models verify``), not copied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...core.errors import ModelUnavailable
from .masks import LabelMap

FORMAT = "modelbay.segmentation-head/1"
BACKBONE = "efficientnet-lite0"
STRIDES = (8, 16, 32)
MEAN, STD = 127.0, 128.0


def load_backbone(device: str = "cpu"):
    """EfficientNet-Lite0 with ImageNet weights from the catalog model, in eval mode."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from ...core.catalog import resolve

    found = resolve(BACKBONE)
    weights = found.file(found.spec.options.get("weights", "efficientnet-lite0-57934424.pth"))
    net = EfficientNet.from_name(found.spec.options.get("architecture", BACKBONE), num_classes=1000)
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval().to(device)


def image_tensor(images: list, size: int):
    """PIL images as a normalised ``(n, 3, size, size)`` float tensor."""
    import numpy as np
    import torch
    from PIL import Image

    arr = np.stack([np.asarray(img.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.float32)
                    for img in images])
    return torch.from_numpy((arr - MEAN) / STD).permute(0, 3, 1, 2).contiguous()


def features(net, x):
    """Stride-8 features ``(n, channels, size/8, size/8)``: strides 8, 16, 32 upsampled and concatenated."""
    import torch
    import torch.nn.functional as F

    size = x.shape[-1]
    y = net._swish(net._bn0(net._conv_stem(x)))
    last: dict[int, Any] = {}
    for block in net._blocks:
        y = block(y)
        last[round(size / y.shape[-1])] = y
    target = last[STRIDES[0]].shape[-2:]
    parts = [last[s] if s == STRIDES[0] else F.interpolate(last[s], size=target, mode="bilinear", align_corners=False)
             for s in STRIDES]
    return torch.cat(parts, dim=1)


def new_head(in_channels: int, hidden: int, n_classes: int):
    """An MLP applied at every position (``apply_head``): Linear layers on channels-last run faster than 1x1 convs."""
    import torch

    return torch.nn.Sequential(torch.nn.Linear(in_channels, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                               torch.nn.Linear(hidden, n_classes))


def apply_head(head, feats):
    """Class logits ``(n, classes, h, w)`` of features ``(n, h, w, channels)``."""
    return head(feats).permute(0, 3, 1, 2)


def write_head(directory: Path, head, config: dict[str, Any]) -> None:
    """Write ``seg_head.json`` and ``seg_head.pt`` into ``directory``."""
    import torch

    from ...ml.model_dir import write_json

    write_json(directory, "seg_head.json", {"format": FORMAT, "backbone": BACKBONE, **config})
    torch.save({k: v.detach().cpu() for k, v in head.state_dict().items()}, Path(directory) / "seg_head.pt")


class SegmentationHead:
    """Reads a trained model directory and segments PIL images with it."""

    def __init__(self, path: Path, device: str = "cpu") -> None:
        import torch

        path = Path(path)
        try:
            self.config = json.loads((path / "seg_head.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"{path}: no readable seg_head.json ({exc})", hint="retrain the model") from None
        if self.config.get("format") != FORMAT:
            raise ModelUnavailable(f"{path}: format {self.config.get('format')!r}, expected {FORMAT!r}")
        self.names = list(self.config["labels"])
        self.size = int(self.config["image_size"])
        self.net = load_backbone(device)
        self.head = new_head(int(self.config["in_channels"]), int(self.config["hidden"]), len(self.names))
        self.head.load_state_dict(torch.load(path / "seg_head.pt", map_location="cpu", weights_only=True))
        self.head.eval().to(device)
        self.device = device
        self.describe = f"trained head over {BACKBONE} features ({len(self.names)} classes)"

    def probabilities(self, img):
        """``(classes, h, w)`` softmax probabilities at the image's own size."""
        import torch
        import torch.nn.functional as F

        with torch.inference_mode():
            x = image_tensor([img], self.size).to(self.device)
            logits = apply_head(self.head, features(self.net, x).permute(0, 2, 3, 1))
            logits = F.interpolate(logits, size=img.size[::-1], mode="bilinear", align_corners=False)
            return torch.softmax(logits[0].float(), dim=0)

    def segment(self, img, threshold: float | None) -> LabelMap:
        probs, best = self.probabilities(img).max(dim=0)
        index = best.cpu().numpy().astype("int32") + 1
        confidence = probs.cpu().numpy()
        if threshold is not None:
            index[confidence < threshold] = 0
        return LabelMap(index=index, names=self.names, confidence=confidence)
