"""What a transfer-learning run trains, and its checks (``--param`` options become a ``TransferConfig``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ...core.errors import BadInput


@dataclass
class TransferConfig:
    """What to train. Defaults suit a few hundred to a few thousand photos on a CPU."""

    base: str = "efficientnet-lite0"           # catalog image-classification model whose features are used
    image_size: int = 224                      # pixels (square); a multiple of 32; 96-128 is 3-5x faster on CPU
    crop_fraction: float = 1.0                 # centred square of the shorter side (1.0: all of it)
    augment_copies: int = 2                    # augmented copies of each training image (0: none)
    hflip: bool = True                         # random horizontal flips (turn off for text, arrows…)
    rotate_degrees: float = 10.0               # random rotation in [-x, x]
    crop_scale: float = 0.75                   # random crops keep at least this fraction of the area
    color_jitter: float = 0.2                  # brightness/contrast/saturation factors in [1-x, 1+x]
    hidden_sizes: tuple[int, ...] = (256,)     # () trains a linear (logistic) head
    dropout: float = 0.2
    learning_rate: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 100
    patience_epochs: int = 8
    val_fraction: float = 0.15
    balance_classes: bool = True               # weight the loss so each class counts equally
    calibrate: bool = True                     # fit a softmax temperature (with >= 30 validation images)
    unfreeze_epochs: int = 0                   # > 0: fine-tune the last blocks with the head afterwards
    unfreeze_blocks: int = 2                   # how many of the 16 MBConv blocks to fine-tune
    unfreeze_learning_rate: float = 1e-4       # for the blocks; the head gets 10x
    unfreeze_batch_size: int = 32
    label_smoothing: float = 0.1               # in the fine-tuning stage
    feature_batch_size: int = 0                # images per forward pass; 0: 4 at >= 192 px, else 16 (fastest on CPU)
    cache_features: bool = True                # keep features under <home>/cache/image-features
    seed: int = 0


def transfer_config(options: dict[str, Any]) -> TransferConfig:
    """A ``TransferConfig`` from ``--param`` options; unknown names and bad values are BadInput."""
    from ...ml.options import config_from_options

    config = config_from_options(TransferConfig, options)
    checks = [
        (config.image_size % 32 == 0 and 64 <= config.image_size <= 512, "image_size must be a multiple of 32 in 64..512"),
        (0 < config.crop_fraction <= 1, "crop_fraction must be in (0, 1]"),
        (0 < config.val_fraction < 1, "val_fraction must be in (0, 1)"),
        (config.augment_copies >= 0 and config.unfreeze_epochs >= 0, "augment_copies and unfreeze_epochs must be >= 0"),
        (0 < config.crop_scale <= 1 and 0 <= config.color_jitter < 1, "crop_scale must be in (0, 1], color_jitter in [0, 1)"),
        (0 <= config.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
        (1 <= config.unfreeze_blocks <= 16, "unfreeze_blocks must be in 1..16"),
        (config.max_epochs >= 1 and config.batch_size >= 1, "max_epochs and batch_size must be >= 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise BadInput(f"training options: {message}", hint=f"got {asdict(config)}")
    return config
