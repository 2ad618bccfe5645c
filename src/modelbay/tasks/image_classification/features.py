"""The features of transfer learning: augmentation, the frozen network, and a disk cache.

Augmented copies are deterministic per (image content, copy, seed), so their features are
cached by that key under ``<home>/cache/image-features/<base model>/``: a second training
run on the same images with other head options skips the network entirely.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...core.errors import BadInput

if TYPE_CHECKING:
    from .config import TransferConfig

def augment(img, rng, config: TransferConfig):
    """A random variant of a PIL RGB image: rotation, crop, flip, colour jitter (in that order)."""
    from PIL import Image, ImageEnhance

    if config.rotate_degrees:
        fill = img.resize((1, 1), Image.BOX).getpixel((0, 0))  # the mean colour: no black corners on photos
        img = img.rotate(float(rng.uniform(-config.rotate_degrees, config.rotate_degrees)), Image.BILINEAR, fillcolor=fill)
    w, h = img.size
    area = rng.uniform(config.crop_scale, 1.0) * w * h
    ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    cw, ch = max(1, min(w, round(math.sqrt(area * ratio)))), max(1, min(h, round(math.sqrt(area / ratio))))
    left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    img = img.crop((left, top, left + cw, top + ch))
    if config.hflip and rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    if config.color_jitter:
        for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
            img = enhancer(img).enhance(float(rng.uniform(1 - config.color_jitter, 1 + config.color_jitter)))
    return img


class FeatureExtractor:
    """Runs the frozen base network; ``split`` > 0 also keeps the activations entering block ``split``."""

    def __init__(self, config: TransferConfig, device: str = "cpu", split: int = 0) -> None:
        from ...core.catalog import resolve
        from .model import load_efficientnet

        base = resolve(config.base)
        if base.spec.task != "image-classification" or base.spec.options.get("backend", "imagenet") != "imagenet":
            raise BadInput(f"base {config.base!r} is not an EfficientNet ImageNet model", hint="use base=efficientnet-lite0")
        opts = base.spec.options
        self.config, self.device, self.split = config, device, split
        self.mean, self.std = float(opts.get("mean", 127.0)), float(opts.get("std", 128.0))
        self.net = load_efficientnet(base.file(opts.get("weights", "efficientnet-lite0-57934424.pth")),
                                     opts.get("architecture", "efficientnet-lite0"), device)
        self.identity = hashlib.sha256(json.dumps([config.base, base.spec.files], sort_keys=True).encode()).hexdigest()[:16]

    def __call__(self, pixels):
        """(n, size, size, 3) pixels 0..255 -> pooled features (n, 1280), and the activations (or None)."""
        import torch

        from .finetune import frozen_part, tail

        x = torch.from_numpy((pixels - self.mean) / self.std).permute(0, 3, 1, 2)
        x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            if not self.split:
                return self.net.extract_features(x).mean((2, 3)).float().cpu().numpy(), None
            acts = frozen_part(self.net, x, self.split)
            return tail(self.net, acts, self.split).float().cpu().numpy(), acts.to(torch.float16).cpu()


def extract_features(images, train_idx: list[int], config: TransferConfig, extractor: FeatureExtractor, tick):
    """Features of every image, plus ``augment_copies`` augmented copies of the training images.

    Returns ``(X, rows, acts)``: ``rows[i] = (image index, copy)`` (copy 0 is the image itself) and
    the activations for fine-tuning (None unless the extractor keeps them).
    """
    import numpy as np

    from ...core.media import decode_image, media_bytes
    from ...core.settings import get_settings
    from ...ml.embedding_cache import EmbeddingCache
    from .model import image_pixels

    train = set(train_idx)
    jobs = [(i, c) for i in range(len(images.records)) for c in range(1 + (config.augment_copies if i in train else 0))]
    use_cache = config.cache_features and not extractor.split
    cache = EmbeddingCache(get_settings().cache_dir / "image-features" / extractor.identity) if use_cache else None
    aug_sig = f"{config.hflip},{config.rotate_degrees},{config.crop_scale},{config.color_jitter},{config.seed}"
    chunk = config.feature_batch_size or (4 if config.image_size >= 192 else 16)
    X = np.zeros((len(jobs), 1280), dtype=np.float32)
    acts: list = []
    pending: list[tuple[int, str, Any]] = []  # (row, cache key, pixels)
    done = 0

    def flush() -> None:
        nonlocal done
        if not pending:
            return
        feats, act = extractor(np.stack([p for _, _, p in pending]))
        X[[r for r, _, _ in pending]] = feats
        if act is not None:
            acts.append(act)
        if cache is not None:
            cache.put([k for _, k, _ in pending], feats)
        done += len(pending)
        pending.clear()
        tick(done)

    row = 0
    while row < len(jobs):
        i = jobs[row][0]
        n_copies = 1 + (config.augment_copies if i in train else 0)
        data = media_bytes(Path(images.records[i]["image"]), kind="image", field=images.records[i]["image"], allow_paths=True)
        digest = hashlib.sha256(data).hexdigest()
        keys = [f"{config.image_size}|{config.crop_fraction}|{c}|{aug_sig if c else ''}|{digest}" for c in range(n_copies)]
        cached = cache.get(keys) if cache is not None else {}
        img = None
        for c in range(n_copies):
            if c in cached:
                X[row + c] = cached[c]
                done += 1
                continue
            if img is None:
                img = decode_image(data, field=images.records[i]["image"])
            variant = img
            if c:
                rng = np.random.default_rng([config.seed, int(digest[:12], 16), c])
                variant = augment(img, rng, config)
            pending.append((row + c, keys[c], image_pixels(variant, config.image_size, config.crop_fraction)))
            if len(pending) >= chunk:
                flush()
        row += n_copies
    flush()
    tick(done)
    if not acts:
        return X, jobs, None
    import torch

    stacked = torch.cat(acts)
    if len(stacked) != len(jobs):  # every row went through the network in order (no cache when keeping activations)
        raise RuntimeError(f"kept {len(stacked)} activations for {len(jobs)} images")
    return X, jobs, stacked
