"""Fine-tune a spaCy pipeline's ``ner`` component on labelled records, and load spaCy NER pipelines.

Only the ``ner`` component (and the ``tok2vec`` it listens to, if any) is loaded and trained;
the tagger, parser and lemmatizer are left out, which makes loading and tagging several times
faster. The trained model directory holds

* ``pipeline/`` — the spaCy pipeline (``nlp.to_disk``)
* ``model_card.json`` — base model, data hash, options, validation metrics (before and after)

Labels: the user's ``PER``/``LOC`` are trained as the base model's ``PERSON``/``GPE`` (so the
pretrained weights for them are reused, not learnt again); other labels are added as new ones.
So that fine-tuning on PER/LOC/ORG data does not make the model forget its other labels
(DATE, MONEY…), the base model's own entities of labels the data never uses are added to the
training examples where they do not overlap a gold entity ("rehearsal"; ``rehearse=false`` turns
it off).
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput, ModelUnavailable
from ...ml.splits import split_card, validation_warnings

PIPELINE_DIR = "pipeline"
#: our normalised label -> the label spaCy's English models use for it
TO_SPACY = {"PER": "PERSON", "LOC": "GPE"}


@dataclass
class SpacyConfig:
    base_model: str = "ner-en-spacy-sm"   # catalog (or trained) spaCy NER model to start from
    epochs: int = 10
    dropout: float = 0.2
    batch_start: int = 4                  # minibatch size grows from batch_start to batch_end
    batch_end: int = 32
    patience_epochs: int = 3              # stop when validation F1 has not improved for this many epochs
    val_fraction: float = 0.1
    split: str = "random"                 # "random" (seeded) or "tail" (the last records)
    rehearse: bool = True                 # keep the base model's other labels (see the module docstring)
    seed: int = 0

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> SpacyConfig:
        from ...ml.options import config_from_options

        config = config_from_options(cls, options, what="spaCy fine-tuning")
        if config.epochs < 1 or not 0 <= config.dropout < 1 or not 0 <= config.val_fraction < 1:
            raise BadInput(f"need epochs >= 1, 0 <= dropout < 1, 0 <= val_fraction < 1; got {config}")
        if config.split not in ("tail", "random"):
            raise BadInput(f"split {config.split!r}: expected tail or random")
        return config


def load_spacy_ner(path: str | Path):
    """A spaCy pipeline from ``path`` with only ``ner`` (and the ``tok2vec`` it listens to) loaded."""
    import spacy
    from spacy.util import load_config

    path = Path(path)
    try:
        config = load_config(path / "config.cfg", interpolate=False)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{path}: not a spaCy pipeline ({exc})", hint="reinstall or retrain the model") from None
    pipes = list(config["nlp"]["pipeline"])
    if "ner" not in pipes:
        raise ModelUnavailable(f"{path}: the spaCy pipeline has no 'ner' component (it has {pipes})")
    tok2vec = config["components"]["ner"].get("model", {}).get("tok2vec", {})
    listens = "Listener" in str(tok2vec.get("@architectures", ""))
    keep = {"ner"} | ({"tok2vec", "transformer"} if listens else set())
    return spacy.load(path, exclude=[p for p in pipes if p not in keep])


def spacy_entities(nlp, texts: list[str]) -> list[list[dict[str, Any]]]:
    from .conll import normalise_label

    return [[{"start": e.start_char, "end": e.end_char, "label": normalise_label(e.label_)} for e in doc.ents]
            for doc in nlp.pipe(texts)]


def _examples(nlp, records: list[dict], base_ents: list[list] | None, user_labels: set[str], rename: dict[str, str]):
    """spaCy ``Example``s; returns them and the number of gold spans that do not fall on token boundaries."""
    from spacy.tokens import Span
    from spacy.training import Example
    from spacy.util import filter_spans

    examples, misaligned = [], 0
    for i, record in enumerate(records):
        doc = nlp.make_doc(record["text"])
        spans = []
        for ent in record["entities"]:
            span = doc.char_span(ent["start"], ent["end"], label=rename.get(ent["label"], ent["label"]),
                                 alignment_mode="expand")
            if span is None:
                misaligned += 1
            else:
                spans.append(span)
        if base_ents is not None:
            taken = {k for s in spans for k in range(s.start, s.end)}
            for label, start, end in base_ents[i]:
                if label not in user_labels and not taken & set(range(start, end)):
                    spans.append(Span(doc, start, end, label=label))
        doc.ents = filter_spans(spans)
        examples.append(Example(nlp.make_doc(record["text"]), doc))
    return examples, misaligned


def train_spacy(records: list[dict], out_dir: str | Path, config: SpacyConfig | None = None, *, name: str = "ner-spacy",
                task: str = "ner", progress: Any = False, data_file: str | Path | None = None) -> dict[str, Any]:
    """Fine-tune ``config.base_model`` on ``records`` (``{"text", "entities"}``); returns the model card."""
    from ...ml.fingerprint import file_sha256
    from ...ml.model_dir import utc_timestamp
    from ...ml.progress import reporter
    from .crf import split_sentences

    config = config or SpacyConfig()
    nlp, labels = _start(records, config, task)
    train, val = split_sentences(records, config.val_fraction, config.split, config.seed)
    t0 = time.perf_counter()
    with reporter(progress) as rep:
        examples, misaligned = _prepare(nlp, train, labels, config, rep)
        before = _score(nlp, val, labels.user) if val else None
        history, best_epoch = _fit(nlp, examples, val, labels.user, config, rep)
    train_s = time.perf_counter() - t0
    metrics: dict[str, Any] = {}
    if val:
        metrics["validation"] = {**_score(nlp, val, labels.user), "n_sentences": len(val),
                                 "split": f"{config.split} {config.val_fraction:.0%} of the records"}
        metrics["validation_before_fine_tuning"] = before
    card = {
        "name": name, "task": task, "languages": ["en"], "base_model": config.base_model,
        "labels": sorted(labels.user), "created": utc_timestamp(),
        "data": {"file": str(data_file) if data_file else None, "sha256": file_sha256(data_file) if data_file else None,
                 "n_records": len(records), "n_train": len(train), "n_validation": len(val),
                 "misaligned_spans_dropped": misaligned,
                 "split": split_card(config.seed, config.val_fraction, len(train), len(val),
                                     method=config.split, stratified_by=None)},
        "options": {"backend": "spacy", "pipeline_dir": PIPELINE_DIR},
        "config": asdict(config),
        "training": {"seconds": round(train_s, 1), "epochs_run": len(history), "best_epoch": best_epoch or len(history),
                     "history": history, "labels_renamed": labels.rename},
        "metrics": metrics,
        "warnings": validation_warnings(len(val), "sentences"),
    }
    _write(out_dir, nlp, card)
    return card


@dataclass
class _Labels:
    user: set[str]              # the labels the data annotates (PER, LOC, ...)
    rename: dict[str, str]      # ours -> the base model's, where it has them
    trained: set[str]           # the labels spaCy trains: the user's, renamed
    new: list[str]              # those the base model lacks


def _start(records: list[dict], config: SpacyConfig, task: str):
    """The base pipeline (only ``ner`` loaded, random seeds fixed) and the labels to train."""
    from spacy.util import fix_random_seed

    from ...core.catalog import resolve

    base = resolve(config.base_model)
    if base.spec.task != task or base.spec.options.get("backend") != "spacy":
        raise BadInput(f"base_model {config.base_model!r} is not a spaCy NER model", hint="e.g. base_model=ner-en-spacy-sm")
    fix_random_seed(config.seed)
    nlp = load_spacy_ner(base.path / base.spec.options.get("pipeline_dir", ""))
    base_labels = set(nlp.get_pipe("ner").labels)
    user_labels = {e["label"] for r in records for e in r["entities"]}
    if not user_labels:
        raise BadInput("no entities in the training data", hint="check the tags of your data")
    rename = {ours: theirs for ours, theirs in TO_SPACY.items() if theirs in base_labels}
    trained = {rename.get(label, label) for label in user_labels}
    return nlp, _Labels(user_labels, rename, trained, sorted(trained - base_labels))


def _prepare(nlp, train: list[dict], labels: _Labels, config: SpacyConfig, rep):
    """The training ``Example``s (with rehearsal spans) and the count of misaligned gold spans; adds new labels."""
    tick = rep.stage("reading", total=len(train))
    base_ents = None
    if config.rehearse:
        base_ents = [[(e.label_, e.start, e.end) for e in doc.ents] for doc in nlp.pipe(r["text"] for r in train)]
    examples, misaligned = _examples(nlp, train, base_ents, labels.trained, labels.rename)
    tick(len(train))
    ner = nlp.get_pipe("ner")
    for label in labels.new:
        ner.add_label(label)
    return examples, misaligned


def _fit(nlp, examples: list, val: list[dict], user_labels: set[str], config: SpacyConfig, rep):
    """Fit step: epochs with early stopping on validation F1; ``nlp`` ends with the best epoch's weights.

    Returns ``(history, best_epoch)`` (``best_epoch`` 0 without validation records).
    """
    from spacy.util import compounding, minibatch

    optimizer = nlp.resume_training()
    step = rep.stage("training", total=config.epochs)
    best_f1, best_bytes, best_epoch, history = -1.0, None, 0, []
    rng = random.Random(config.seed)
    for epoch in range(1, config.epochs + 1):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=compounding(config.batch_start, config.batch_end, 1.001)):
            nlp.update(batch, drop=config.dropout, sgd=optimizer, losses=losses)
        row = {"epoch": epoch, "loss": round(float(losses.get("ner", 0.0)), 3)}
        if val:
            row["val_f1"] = _score(nlp, val, user_labels)["f1"]
            if row["val_f1"] > best_f1:
                best_f1, best_bytes, best_epoch = row["val_f1"], nlp.to_bytes(), epoch
        history.append(row)
        step(epoch)
        if val and epoch - best_epoch >= config.patience_epochs:
            break
    if best_bytes is not None:
        nlp.from_bytes(best_bytes)
    return history, best_epoch


def _write(out_dir: str | Path, nlp, card: dict[str, Any]) -> None:
    """Write step: ``pipeline/`` and ``model_card.json``, atomically (``out_dir`` is replaced whole)."""
    from ...ml.model_dir import atomic_model_dir, write_card

    with atomic_model_dir(out_dir) as tmp:
        nlp.to_disk(tmp / PIPELINE_DIR)
        write_card(tmp, card)


def _score(nlp, records: list[dict], labels: set[str]) -> dict[str, Any]:
    """Score step: entity scores on ``records``, counting only the labels the data annotates (others are not mistakes)."""
    from .crf import entity_scores

    predicted = [[e for e in ents if e["label"] in labels] for ents in spacy_entities(nlp, [r["text"] for r in records])]
    return entity_scores([r["entities"] for r in records], predicted)

