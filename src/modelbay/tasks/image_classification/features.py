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

    from ...core.settings import get_settings
    from ...ml.embedding_cache import EmbeddingCache

    train = set(train_idx)
    jobs = [(i, c) for i in range(len(images.records)) for c in range(1 + (config.augment_copies if i in train else 0))]
    use_cache = config.cache_features and not extractor.split
    cache = EmbeddingCache(get_settings().cache_dir / "image-features" / extractor.identity) if use_cache else None
    chunk = config.feature_batch_size or (4 if config.image_size >= 192 else 16)
    batches = _Batches(extractor, np.zeros((len(jobs), 1280), dtype=np.float32), cache, chunk, tick)
    row = 0
    while row < len(jobs):
        i = jobs[row][0]
        n_copies = 1 + (config.augment_copies if i in train else 0)
        _add_image(images.records[i]["image"], row, n_copies, config, batches)
        row += n_copies
    batches.flush()
    tick(batches.done)
    if not batches.acts:
        return batches.X, jobs, None
    import torch

    stacked = torch.cat(batches.acts)
    if len(stacked) != len(jobs):  # every row went through the network in order (no cache when keeping activations)
        raise RuntimeError(f"kept {len(stacked)} activations for {len(jobs)} images")
    return batches.X, jobs, stacked


class _Batches:
    """Pixels waiting for the network: run ``chunk`` at a time into rows of ``X`` (and the cache)."""

    def __init__(self, extractor: FeatureExtractor, X, cache, chunk: int, tick) -> None:
        self.extractor, self.X, self.cache, self.chunk, self.tick = extractor, X, cache, chunk, tick
        self.acts: list = []
        self.pending: list[tuple[int, str, Any]] = []  # (row, cache key, pixels)
        self.done = 0

    def cached(self, row: int, feats) -> None:
        self.X[row] = feats
        self.done += 1

    def add(self, row: int, key: str, pixels) -> None:
        self.pending.append((row, key, pixels))
        if len(self.pending) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        import numpy as np

        if not self.pending:
            return
        feats, act = self.extractor(np.stack([p for _, _, p in self.pending]))
        self.X[[r for r, _, _ in self.pending]] = feats
        if act is not None:
            self.acts.append(act)
        if self.cache is not None:
            self.cache.put([k for _, k, _ in self.pending], feats)
        self.done += len(self.pending)
        self.pending.clear()
        self.tick(self.done)


def _add_image(image: str, row: int, n_copies: int, config: TransferConfig, batches: _Batches) -> None:
    """One image and its augmented copies (rows ``row .. row + n_copies``): from the cache, else queued."""
    import numpy as np

    from ...core.media import decode_image, media_bytes
    from .model import image_pixels

    data = media_bytes(Path(image), kind="image", field=image, allow_paths=True)
    digest = hashlib.sha256(data).hexdigest()
    aug_sig = f"{config.hflip},{config.rotate_degrees},{config.crop_scale},{config.color_jitter},{config.seed}"
    keys = [f"{config.image_size}|{config.crop_fraction}|{c}|{aug_sig if c else ''}|{digest}" for c in range(n_copies)]
    cached = batches.cache.get(keys) if batches.cache is not None else {}
    img = None
    for c in range(n_copies):
        if c in cached:
            batches.cached(row + c, cached[c])
            continue
        if img is None:
            img = decode_image(data, field=image)
        variant = img
        if c:
            rng = np.random.default_rng([config.seed, int(digest[:12], 16), c])
            variant = augment(img, rng, config)
        batches.add(row + c, keys[c], image_pixels(variant, config.image_size, config.crop_fraction))
