"""Training the character CRF for entity extraction (Chinese): split, fit, score, write.

The format (features, ``crf.json``, the tagger that reads a model directory) is in ``model.py``.

>>> char_tags("李鹏在北京", [{"start": 0, "end": 2, "label": "PER"}, {"start": 3, "end": 5, "label": "LOC"}])
['B-PER', 'E-PER', 'O', 'B-LOC', 'E-LOC']
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...ml.splits import split_card, stratified_split, validation_warnings
from .model import CONFIG_FILE, FORMAT, MODEL_FILE, CrfConfig, CrfTagger, char_features, write_crf_config

__all__ = ["char_tags", "entity_scores", "split_sentences", "train_crf"]

#: with fewer records nothing is held out: a validation score of a sentence or two would mislead
MIN_RECORDS_TO_VALIDATE = 10


def char_tags(text: str, entities: list[dict[str, Any]], scheme: str = "BIOES") -> list[str]:
    """Per-character tags for entity spans (overlapping spans: the first wins)."""
    tags = ["O"] * len(text)
    for ent in sorted(entities, key=lambda e: (e["start"], -e["end"])):
        start, end, label = ent["start"], ent["end"], ent["label"]
        if any(t != "O" for t in tags[start:end]):
            continue
        if scheme == "BIOES" and end - start == 1:
            tags[start] = f"S-{label}"
            continue
        tags[start] = f"B-{label}"
        for k in range(start + 1, end):
            tags[k] = f"I-{label}"
        if scheme == "BIOES":
            tags[end - 1] = f"E-{label}"
    return tags


def entity_scores(gold: list[list[dict]], predicted: list[list[dict]]) -> dict[str, Any]:
    """Entity-level micro precision/recall/F1 (exact start, end and label) overall and per label.

    >>> entity_scores([[{"start": 0, "end": 2, "label": "PER"}]], [[{"start": 0, "end": 2, "label": "PER"}]])["f1"]
    1.0
    """
    counts: dict[str, list[int]] = {}  # label -> [true positives, predicted, gold]
    for g, p in zip(gold, predicted, strict=True):
        gs = {(e["start"], e["end"], e["label"]) for e in g}
        ps = {(e["start"], e["end"], e["label"]) for e in p}
        for span in gs | ps:
            c = counts.setdefault(span[2], [0, 0, 0])
            c[0] += span in gs and span in ps
            c[1] += span in ps
            c[2] += span in gs

    def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, Any]:
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_gold if n_gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": n_gold}

    total = [sum(c[k] for c in counts.values()) for k in range(3)]
    return {**prf(*total), "per_type": {label: prf(*counts[label]) for label in sorted(counts)}}


def split_sentences(records: list[dict], val_fraction: float, split: str = "tail",
                    seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Train/validation records: the last ``val_fraction`` of them ("tail": later documents) or a seeded random share.

    ``ml.splits.stratified_split`` over one class; nothing is held out from fewer than 10 records or
    when ``val_fraction`` rounds to no record.

    >>> [len(part) for part in split_sentences([{"i": i} for i in range(20)], 0.1)]
    [18, 2]
    """
    if len(records) < MIN_RECORDS_TO_VALIDATE or round(len(records) * val_fraction) == 0:
        return list(records), []
    train_idx, val_idx = stratified_split([""] * len(records), val_fraction, seed, shuffle=split == "random")
    return [records[i] for i in train_idx], [records[i] for i in val_idx]


def train_crf(records: list[dict], out_dir: str | Path, config: CrfConfig | None = None, *, name: str = "ner-crf",
              task: str = "ner", progress: Any = False, data_file: str | Path | None = None,
              card_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train a character CRF on ``records`` (``{"text", "entities"}``) into ``out_dir``; returns the model card.

    ``out_dir`` is written atomically: replaced whole once the model, its config and card are complete.
    """
    from ...ml.model_dir import atomic_model_dir, write_card

    config = config or CrfConfig()
    train, val = split_sentences(records, config.val_fraction, config.split, config.seed)
    if not any(r["entities"] for r in train):
        raise BadInput(f"no entities in the {len(train)} training sentences", hint="check the tags of your data")
    with atomic_model_dir(out_dir) as tmp:
        train_s = _fit(train, config, tmp / MODEL_FILE, progress)
        write_crf_config(tmp, config)
        metrics = _score(CrfTagger(tmp), val, config)
        card = _card(records, train, val, config, metrics, name=name, task=task, data_file=data_file,
                     training={"seconds": round(train_s, 1), "model_bytes": (tmp / MODEL_FILE).stat().st_size})
        card.update(card_extra or {})
        write_card(tmp, card)
    return card


def _fit(train: list[dict], config: CrfConfig, model_file: Path, progress: Any) -> float:
    """Fit step: L-BFGS over the training sentences' features; CRFsuite saves to ``model_file``. Returns seconds."""
    import pycrfsuite

    from ...ml.progress import reporter

    t0 = time.perf_counter()
    with reporter(progress) as rep:
        tick = rep.stage("reading", total=len(train))

        class _Trainer(pycrfsuite.Trainer):
            def message(self, message: str) -> None:  # CRFsuite's log, parsed for the iteration count only
                if self.logparser.feed(message) == "iteration":
                    step(self.logparser.last_iteration.get("num", 0))

        trainer = _Trainer(algorithm="lbfgs", verbose=False)
        for i, record in enumerate(train, 1):
            trainer.append(char_features(record["text"], config), char_tags(record["text"], record["entities"], config.scheme))
            if i % 500 == 0 or i == len(train):
                tick(i)
        trainer.set_params({"c1": config.c1, "c2": config.c2, "max_iterations": config.max_iterations,
                            "feature.minfreq": config.min_freq, "feature.possible_transitions": True})
        step = rep.stage("training", total=config.max_iterations)
        trainer.train(str(model_file))
        step(config.max_iterations)
    return time.perf_counter() - t0


def _score(tagger: CrfTagger, val: list[dict], config: CrfConfig) -> dict[str, Any]:
    """Score step: entity precision/recall/F1 of the trained model on the held-out sentences."""
    if not val:
        return {}
    predicted = [tagger.entities(r["text"]) for r in val]
    return {"validation": {**entity_scores([r["entities"] for r in val], predicted),
                           "n_sentences": len(val), "split": f"{config.split} {config.val_fraction:.0%} of the records"}}


def _card(records: list[dict], train: list[dict], val: list[dict], config: CrfConfig, metrics: dict[str, Any], *,
          name: str, task: str, data_file: str | Path | None, training: dict[str, Any]) -> dict[str, Any]:
    from ...ml.fingerprint import file_sha256
    from ...ml.model_dir import utc_timestamp

    return {
        "name": name, "task": task, "languages": [records[0].get("language") or "zh"], "base_model": None,
        "labels": sorted({e["label"] for r in records for e in r["entities"]}), "format": FORMAT,
        "created": utc_timestamp(),
        "data": {"file": str(data_file) if data_file else None,
                 "sha256": file_sha256(data_file) if data_file else None,
                 "n_records": len(records), "n_train": len(train), "n_validation": len(val),
                 "n_characters": sum(len(r["text"]) for r in records),
                 "split": split_card(config.seed, config.val_fraction, len(train), len(val),
                                     method=config.split, stratified_by=None)},
        "options": {"backend": "crf", "model_file": MODEL_FILE, "config_file": CONFIG_FILE},
        "config": asdict(config),
        "training": training,
        "metrics": metrics,
        "warnings": validation_warnings(len(val), "sentences"),
    }
