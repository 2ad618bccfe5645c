"""Train a segmentation head on your images and masks (``modelbay train image-segmentation --data DIR``).

Why a head over frozen EfficientNet-Lite0 features rather than a small U-Net from scratch: with the
tens of labelled images a team has, ImageNet features already separate most materials and objects,
so only a ~30k-parameter per-pixel MLP is learned; the backbone runs once per image (features are
cached), so training takes seconds to minutes on two CPU cores. A U-Net from scratch needs far
more images and epochs of full forward/backward passes to learn edges and textures.

Steps: read ``DIR/images`` + ``DIR/masks`` (``data.py``), hold out ``val_fraction`` of the images
(seeded), extract stride-8 features of each training image and its mirror image, fit the head with
Adam on cross-entropy at stride 4 (255 = ignored), write the model (``head.py``) and score it on the
held-out images at full resolution with the ``segmentation`` metric family, beside a baseline that
paints every pixel with the most common training class.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...core.protocols import Progress
from .data import load_mask, read_mask_folder


@dataclass(frozen=True)
class HeadConfig:
    image_size: int = 256      # square input of the backbone (multiple of 32)
    hidden: int = 64           # width of the per-pixel MLP
    epochs: int = 60
    batch_images: int = 8
    lr: float = 3e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.2  # held-out images (none below 4 images)
    flip: bool = True          # also learn from each image mirrored left-right
    seed: int = 0
    num_threads: int = 1       # torch threads while training; more only help on an idle machine (10x slower on 2 busy cores)


def head_config(options: dict[str, Any]) -> HeadConfig:
    """A ``HeadConfig`` from ``--param`` options; unknown names and bad values are BadInput."""
    from ...ml.options import config_from_options

    config = config_from_options(HeadConfig, options)
    if config.image_size % 32 or not 64 <= config.image_size <= 1024:
        raise BadInput(f"training options: image_size must be a multiple of 32 in 64..1024, got {config.image_size}")
    if not 0 <= config.val_fraction < 1 or min(config.epochs, config.batch_images, config.hidden, config.num_threads) < 1:
        raise BadInput("training options: need 0 <= val_fraction < 1, and epochs, batch_images, hidden, num_threads >= 1")
    return config


@contextmanager
def _torch_threads(n: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _split(n: int, config: HeadConfig) -> tuple[list[int], list[int]]:
    import numpy as np

    if n < 4 or config.val_fraction == 0:
        return list(range(n)), []
    order = np.random.default_rng(config.seed).permutation(n)
    n_val = max(1, round(n * config.val_fraction))
    return sorted(order[n_val:].tolist()), sorted(order[:n_val].tolist())


def _training_tensors(records: list[dict], idx: list[int], config: HeadConfig, net, tick):
    """Cached features ``(m, s/8, s/8, c)`` and stride-4 targets ``(m, s/4, s/4)`` (mirrors included)."""
    import numpy as np
    import torch
    from PIL import Image

    from ...core.media import decode_image
    from .head import features, image_tensor

    quarter = config.image_size // 4
    feats, targets = [], []
    for done, i in enumerate(idx, start=1):
        img = decode_image(Path(records[i]["image"]).read_bytes(), field=records[i]["image"])
        mask = load_mask(records[i]["mask"]["mask"])
        small = np.asarray(Image.fromarray(mask.astype(np.int32)).resize((quarter, quarter), Image.NEAREST))
        x = image_tensor([img], config.image_size)
        views = [(x, small)] + ([(x.flip(-1), small[:, ::-1].copy())] if config.flip else [])
        with torch.inference_mode():
            for view, target in views:
                feats.append(features(net, view)[0].permute(1, 2, 0).contiguous())
                targets.append(torch.from_numpy(target.astype(np.int64)))
        tick(done)
    return torch.stack(feats), torch.stack(targets)


def _fit(feats, targets, n_classes: int, config: HeadConfig, tick):
    import torch
    import torch.nn.functional as F

    from .head import apply_head, new_head

    torch.manual_seed(config.seed)
    head = new_head(feats.shape[-1], config.hidden, n_classes)
    opt = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(config.seed)
    history = []
    for epoch in range(config.epochs):
        head.train()
        total = 0.0
        for batch in torch.randperm(len(feats), generator=gen).split(config.batch_images):
            logits = F.interpolate(apply_head(head, feats[batch]), scale_factor=2, mode="bilinear", align_corners=False)
            loss = F.cross_entropy(logits, targets[batch], ignore_index=255)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        history.append(round(total / len(feats), 5))
        tick(epoch + 1)
    return head.eval(), history


def _validate(model_dir: Path, records: list[dict], val_idx: list[int], majority: str) -> dict[str, Any]:
    """Held-out mIoU of the written model, and of painting everything ``majority`` (the baseline)."""
    import numpy as np

    from ...core.media import decode_image
    from ...ml.metrics.segmentation import rle_encode, segmentation
    from .head import SegmentationHead
    from .masks import segments_of

    if not val_idx:
        return {}
    model = SegmentationHead(model_dir)
    truths, preds, base = [], [], []
    for i in val_idx:
        img = decode_image(Path(records[i]["image"]).read_bytes(), field=records[i]["image"])
        truths.append(records[i]["mask"])
        size = [img.height, img.width]
        preds.append({"size": size, "segments": segments_of(model.segment(img, None))})
        base.append({"size": size, "segments": [{"label": majority, "mask_rle": rle_encode(np.ones(size, bool))}]})
    scored = segmentation(truths, preds)
    baseline = segmentation(truths, base)
    return {**{k: scored[k] for k in ("miou", "pixel_accuracy", "mean_class_accuracy", "per_class_iou")},
            "n_images": len(val_idx), "baseline_majority_class": {"label": majority, "miou": baseline["miou"],
                                                                  "pixel_accuracy": baseline["pixel_accuracy"]}}


def _majority(targets, classes: list[str]) -> str:
    import torch

    valid = targets[targets != 255]
    counts = torch.bincount(valid.flatten(), minlength=len(classes))
    return classes[int(counts.argmax())]


def train_segmentation_head(data: str | Path, out_dir: str | Path, options: dict[str, Any], *, name: str = "model",
                            task: str = "image-segmentation", progress: Progress = False) -> dict[str, Any]:
    """Train, write ``out_dir`` atomically and return the model card (also ``model_card.json``)."""
    from ...ml.model_dir import atomic_model_dir, utc_timestamp, write_card
    from ...ml.progress import reporter
    from ...ml.splits import validation_warnings
    from .head import BACKBONE, load_backbone, write_head

    config = head_config(options)
    start = time.perf_counter()
    masks = read_mask_folder(data)
    if len(masks.classes) < 2:
        raise BadInput(f"{data}: the masks use 1 class; a segmentation model needs at least 2 (e.g. background, object)")
    train_idx, val_idx = _split(len(masks.records), config)
    with _torch_threads(config.num_threads), reporter(progress) as rep:
        net = load_backbone()
        feats, targets = _training_tensors(masks.records, train_idx, config, net,
                                           rep.stage("segmentation features", len(train_idx)))
        feature_s = time.perf_counter() - start
        head, history = _fit(feats, targets, len(masks.classes), config, rep.stage("segmentation head", config.epochs))
    with _torch_threads(config.num_threads), atomic_model_dir(out_dir) as tmp:
        write_head(tmp, head, {"labels": masks.classes, "image_size": config.image_size, "hidden": config.hidden,
                               "in_channels": int(feats.shape[-1])})
        validation = _validate(tmp, masks.records, val_idx, _majority(targets, masks.classes))
        card = {
            "name": name, "task": task, "labels": masks.classes, "format": "modelbay.segmentation-head/1",
            "base": BACKBONE, "created": utc_timestamp(),
            "description": f"{len(masks.classes)}-class segmentation head over frozen {BACKBONE} features",
            "options": {"backend": "trained-head"},
            "data": {"source": str(data), "sha256": masks.fingerprint, "n_images": len(masks.records),
                     "n_train": len(train_idx), "n_validation": len(val_idx), "split_seed": config.seed},
            "config": asdict(config),
            "training": {"loss_per_epoch": history, "feature_seconds": round(feature_s, 1),
                         "training_views": len(feats)},
            "metrics": {"validation": validation, "training_seconds": round(time.perf_counter() - start, 1)},
            "warnings": validation_warnings(len(val_idx), "images"),
        }
        write_card(tmp, card)
    return card
