"""Full fine-tuning of a transformer encoder for text classification, with the Hugging Face Trainer.

The base is a catalog model whose files are a transformers checkpoint (``all-minilm-l6-v2``), a
local checkpoint directory, or a hub id read from the local Hugging Face cache (never fetched while
``MODELBAY_OFFLINE=1``). A sequence-classification head is put on it and the whole network is
trained: AdamW with weight decay and linear warm-up/decay, evaluation and a checkpoint every epoch,
early stopping on a stratified validation split, the best epoch kept. Optional: dropout, label
smoothing, class-balanced loss, EDA augmentation of the training split, gradient accumulation, and
on a GPU mixed precision and gradient checkpointing.

The steps of :func:`finetune`: check the records and resolve the base; split them (stratified by
label and source, the stored seed) and augment the training part; load the model; fit; score the
best epoch on the validation split; write the model directory atomically.

Checkpoints go to ``<MODELBAY_HOME>/runs/<name>/`` so an interrupted run resumes with ``resume=true``;
the finished model (``save_pretrained`` safetensors + tokenizer + ``model_card.json``) goes to
``out_dir``, which ``TransformerClassifier`` (``model.py``) loads. Options: ``finetune_config.py``.

>>> recs = [{"text": "love it", "label": "pos"}, {"text": "hate it", "label": "neg"}] * 20
>>> card = finetune(recs, "/tmp/clf", FinetuneConfig(epochs=1))    # doctest: +SKIP
>>> card["options"]                                               # doctest: +SKIP
{'backend': 'transformer'}
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ...ml.fingerprint import file_sha256, records_fingerprint
from ...ml.model_dir import atomic_model_dir, utc_timestamp, write_card
from ...ml.splits import split_card, stratified_split, validation_warnings
from .finetune_config import (
    RUN_KEYS,
    FinetuneConfig,
    config_from_options,
    device_settings,
    prepare_run_dir,
    resolve_base,
)
from .head import check_records

__all__ = ["FinetuneConfig", "config_from_options", "finetune", "make_loss", "resolve_base"]

FORMAT = "modelbay.transformer-classifier/1"
_HIDDEN_DROPOUT = ("hidden_dropout_prob", "hidden_dropout", "dropout", "resid_pdrop")
_ATTENTION_DROPOUT = ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop")


def finetune(records: list[dict], out_dir: str | Path, config: FinetuneConfig | None = None, *,
             name: str = "text-classifier", task: str = "text-classification", progress=False,
             data_file: str | Path | None = None, card_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fine-tune ``config.base`` on ``records`` (``{"text", "label"[, "source"]}``) and save it in ``out_dir``.

    Returns the model card (also ``out_dir/model_card.json``); ``metrics.validation`` holds accuracy and
    macro-F1 of the best epoch on the held-out split.
    """
    from transformers import set_seed

    from ...core.loading import prepare_environment
    from ...core.settings import get_settings

    config = config or FinetuneConfig()
    prepare_environment()
    texts, labels, classes = check_records(records)
    base_path, base_source = resolve_base(config.base)
    records_sha = records_fingerprint(records)
    run_dir = get_settings().home / "runs" / name
    checkpoint = prepare_run_dir(run_dir, config, {"data_sha256": records_sha, **{k: getattr(config, k) for k in RUN_KEYS}})
    notes: list[str] = []
    device = device_settings(config, notes)
    data = _split(records, texts, labels, classes, config)
    set_seed(config.seed)  # before the model: the new classifier weights are drawn from it
    tokenizer, model = _load_model(base_path, classes, config, notes)
    trainer, train_s = _fit(model, tokenizer, data, config, run_dir, checkpoint, device, progress)
    val_metrics = _score(trainer, data, classes)
    card = _card(records, records_sha, data, classes, config, trainer, val_metrics, name=name, task=task, data_file=data_file,
                 base_source=base_source, checkpoint=checkpoint, notes=notes, train_s=train_s)
    card.update(card_extra or {})
    _write_model(out_dir, model, tokenizer, config.max_length, card)
    if not config.keep_checkpoints:
        shutil.rmtree(run_dir, ignore_errors=True)
    return card


@dataclass
class _Data:
    """The split: training records (with augmented copies) and validation texts, as class indices."""

    train_idx: list[int]
    val_idx: list[int]
    train: list[dict]
    y_train: list[int]
    val_texts: list[str]
    y_val: list[int]
    class_weights: list[float] | None
    train_ds: Any = None                       # the tokenised datasets, made once the tokenizer is loaded
    val_ds: Any = None


def _split(records: list[dict], texts: list[str], labels: list[str], classes: list[str], config: FinetuneConfig) -> _Data:
    """Stratified by label and source (the stored seed); EDA and back-translated copies of the training part only."""
    import numpy as np

    from .augment import EdaConfig, augment_records, back_translate, task_translator, wordnet_synonyms

    sources = [str(r.get("source", "data")) for r in records]
    train_idx, val_idx = stratified_split(labels, config.val_fraction, config.seed, groups=sources)
    train = [{"text": texts[i], "label": labels[i]} for i in train_idx]
    if config.augment:
        alpha = config.augment_alpha
        eda = EdaConfig(alpha_swap=alpha, alpha_insert=alpha, alpha_synonym=alpha, p_delete=alpha)
        train = augment_records(train, config.augment, seed=config.seed, config=eda, synonyms=wordnet_synonyms())
    if config.back_translate:
        train += back_translate([r for r in train if not r.get("augmented")], task_translator(config.back_translate))
    y_train = [classes.index(r["label"]) for r in train]
    weights = None
    if config.class_weights == "balanced":
        counts = np.bincount(y_train, minlength=len(classes))
        weights = (len(y_train) / (len(classes) * np.maximum(counts, 1))).tolist()
    return _Data(train_idx, val_idx, train, y_train, [texts[i] for i in val_idx],
                 [classes.index(labels[i]) for i in val_idx], weights)


def _fit(model, tokenizer, data: _Data, config: FinetuneConfig, run_dir: Path, checkpoint: str | None,
         device: dict[str, Any], progress) -> tuple[Any, float]:
    """The Hugging Face Trainer: an evaluation and a checkpoint every epoch, early stopping, the best epoch kept."""
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    from ...ml.progress import reporter

    encode = lambda batch: tokenizer(batch, truncation=True, max_length=config.max_length)
    data.train_ds = _Encoded(encode([r["text"] for r in data.train]), data.y_train)
    data.val_ds = _Encoded(encode(data.val_texts), data.y_val)
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
        trainer = Trainer(model=model, args=args, train_dataset=data.train_ds, eval_dataset=data.val_ds,
                          processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
                          compute_metrics=_metrics, compute_loss_func=make_loss(data.class_weights, config.label_smoothing),
                          callbacks=[EarlyStoppingCallback(early_stopping_patience=config.patience),
                                     _progress_callback(rep)])
        trainer.remove_callback(PrinterCallback)  # it prints logs to stdout, which `--json` owns
        trainer.train(resume_from_checkpoint=checkpoint)
    return trainer, time.perf_counter() - t0


def _score(trainer, data: _Data, classes: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per class and the confusion matrix of the best epoch on the validation split."""
    from ...ml.metrics import classification_metrics

    predicted = trainer.predict(data.val_ds)
    return classification_metrics([classes[i] for i in predicted.label_ids],
                                  [classes[i] for i in predicted.predictions.argmax(-1)], labels=classes)


def _card(records: list[dict], records_sha: str, data: _Data, classes: list[str], config: FinetuneConfig, trainer,
          val_metrics: dict, *,
          name: str, task: str, data_file, base_source: str, checkpoint: str | None, notes: list[str],
          train_s: float) -> dict[str, Any]:
    import torch
    import transformers

    state, n_train, n_val = trainer.state, len(data.train_idx), len(data.val_idx)
    history = [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in entry.items()} for entry in state.log_history]
    return {
        "name": name, "task": task, "labels": classes,
        "format": FORMAT, "options": {"backend": "transformer"},
        "base": {"name": config.base, "source": base_source, "model_type": trainer.model.config.model_type},
        "created": utc_timestamp(),
        "data": {"n_records": len(records), "n_train": n_train, "n_train_augmented": len(data.train) - n_train,
                 "n_validation": n_val, "sha256": records_sha,
                 "split": split_card(config.seed, config.val_fraction, n_train, n_val, stratified_by="label and source"),
                 **({"file": str(data_file), "file_sha256": file_sha256(data_file)} if data_file else {})},
        "config": {f.name: getattr(config, f.name) for f in fields(config)} | {"class_weight_values": data.class_weights},
        "training": {
            "seconds": round(train_s, 1), "device": "cuda" if torch.cuda.is_available() else "cpu",
            "torch_threads": torch.get_num_threads(), "steps": state.global_step,
            "epochs_run": round(state.epoch or 0, 3), "best_checkpoint": Path(state.best_model_checkpoint or "").name,
            "resumed_from": Path(checkpoint).name if checkpoint else None, "notes": notes, "history": history,
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        },
        "metrics": {"validation": val_metrics},
        "warnings": validation_warnings(n_val, "records"),
    }


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


def _write_model(out_dir: str | Path, model, tokenizer, max_length: int, card: dict) -> Path:
    """save_pretrained (safetensors) + tokenizer + model_card.json into a temp dir beside ``out_dir``, then rename."""
    out_dir = Path(out_dir)
    with atomic_model_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.model_max_length = max_length  # the loader truncates as training did
        tokenizer.save_pretrained(tmp)
        write_card(tmp, card)
    return out_dir


