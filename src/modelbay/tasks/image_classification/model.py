"""The image model format, reader and writer together: EfficientNet-Lite0 weights, the centre crop both
training and inference apply, and a trained transfer head (``head.json``, ``head.npz``, ``backbone.pt``)."""

from __future__ import annotations

import json
from pathlib import Path


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


def image_pixels(img, size: int, crop_fraction: float):
    """A decoded RGB image as the network sees it before normalising: (size, size, 3) float32, 0..255.

    Training (``modelbay.tasks.image_classification.transfer``) calls this too, so both prepare images alike.
    """
    import numpy as np
    from PIL import Image

    box = center_crop_box(*img.size, crop_fraction)
    # crop and resize in one step; reducing_gap keeps very large photos cheap to shrink
    return np.asarray(img.resize((size, size), Image.BICUBIC, box=box, reducing_gap=3.0), dtype=np.float32)


def load_efficientnet(weights: Path, architecture: str = "efficientnet-lite0", device: str = "cpu", *,
                      fine_tuned: Path | None = None):
    """The ImageNet EfficientNet from ``weights``, in eval mode and channels-last, optionally with the
    fine-tuned tensors of ``fine_tuned`` (a partial state dict: the unfrozen blocks) laid over it."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    # from_name + our own load: the package's from_pretrained prints and loads with weights_only off
    net = EfficientNet.from_name(architecture, num_classes=1000)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    if fine_tuned is not None:
        delta = torch.load(fine_tuned, map_location="cpu", weights_only=True)
        unknown = sorted(set(delta) - set(state))
        if unknown:
            raise ValueError(f"{fine_tuned}: tensors {unknown[:3]} are not in {architecture}")
        state.update(delta)
    net.load_state_dict(state, strict=True)
    # channels-last is ~1.3x faster for these depthwise convolutions on CPU (measured with oneDNN)
    return net.eval().to(device, memory_format=torch.channels_last)


class TransferHead:
    """A trained head over EfficientNet features; reads ``head.json``, ``head.npz`` and maybe ``backbone.pt``."""

    FORMAT = "modelbay.image-head/1"

    def __init__(self, path, device: str = "cpu") -> None:
        from ...core.catalog import resolve
        from ...ml.model_files import ModelDir

        path = Path(path)
        d = ModelDir(path, hint="train the model again with `modelbay train image-classification`")
        bad = d.error
        config = d.config("head.json", (self.FORMAT,), required=("base", "labels", "n_layers", "image_size"))
        self.labels: list[str] = d.labels(config, "head.json")
        self.temperature = float(config.get("temperature", 1.0))
        self.image_size = int(config["image_size"])
        self.crop_fraction = float(config.get("crop_fraction", 1.0))
        self.mean, self.std = float(config.get("mean", 127.0)), float(config.get("std", 128.0))
        self.layers = d.mlp_layers(config["n_layers"], len(self.labels))
        if self.layers[0][0].shape[0] != 1280:
            raise bad(f"head layers {[w.shape for w, _ in self.layers]} do not take EfficientNet's 1280 features")
        base = resolve(config["base"])
        opts = base.spec.options
        fine_tuned = path / config["backbone_file"] if config.get("backbone_file") else None
        if fine_tuned is not None and not fine_tuned.is_file():
            raise bad(f"{config['backbone_file']} (the fine-tuned blocks) is missing")
        try:
            self.net = load_efficientnet(base.file(opts.get("weights", "efficientnet-lite0-57934424.pth")),
                                         opts.get("architecture", "efficientnet-lite0"), device, fine_tuned=fine_tuned)
        except (ValueError, RuntimeError) as exc:  # tensors of another architecture or shape
            raise bad(f"{config.get('backbone_file')} does not fit {config['base']} ({str(exc)[:300]})") from None

    def predict_proba(self, features):
        from ...ml.model_files import mlp_logits, softmax

        return softmax(mlp_logits(self.layers, features) / self.temperature)


def write_transfer_model(out_dir: Path, head: dict, layers, delta, card: dict) -> None:
    """head.json, head.npz, backbone.pt (if fine-tuned) and model_card.json, atomically."""
    from ...ml.model_dir import atomic_model_dir, save_head_layers, write_card

    with atomic_model_dir(out_dir) as tmp:
        (tmp / "head.json").write_text(json.dumps(head, indent=2) + "\n", encoding="utf-8")
        save_head_layers(tmp, layers)
        if delta is not None:
            import torch

            torch.save(delta, tmp / "backbone.pt")
        write_card(tmp, card)
