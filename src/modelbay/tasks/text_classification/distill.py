"""Distillation (``method=distill``): a slow, good teacher labels the team's own unlabelled texts, and a
fast embedding head (``head.py``) learns from its labels.

The teacher is any text-classification model — typically a zero-shot LLM classifier such as
``sentiment-llm-large`` (``zero_shot.py``), which reads a message in ~0.5 s on 2 cores, where the
head reads hundreds a second. What the head gains is the teacher's reading of *this* domain:
messages the shipped training data never covered. A label column in the file is not trained on;
when present, the card reports how often the teacher agreed with it.

>>> recs = [{"text": "the bag never arrived"}, {"text": "lovely crew, thank you"}] * 10  # doctest: +SKIP
>>> card = distill(recs, "/tmp/my-head", DistillConfig(teacher="sentiment-llm-large"))    # doctest: +SKIP
>>> card["distillation"]["label_counts"]                                                   # doctest: +SKIP
{'negative': 10, 'positive': 10}
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...data.roots import label_counts, names
from ...ml.progress import reporter
from .head import HeadConfig, train_embedding_head

#: texts the teacher labels per call (how often the progress bar moves)
TEACHER_BATCH_TEXTS = 8


@dataclass
class DistillConfig:
    """The teacher, which of its labels to keep, and the head that learns them."""

    teacher: str = ""
    min_confidence: float = 0.0  # texts whose teacher probability for its own label is below this are left out
    labelled_data: str = ""  # a labelled table (text, label) trained on beside the teacher's labels, as it is
    head: HeadConfig | None = None


def distill(records: list[dict[str, Any]], out_dir: str | Path, config: DistillConfig, *, name: str = "model",
            task: str = "text-classification", progress: bool | Callable[[str, int, int], None] = False,
            card_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Label ``records``' texts with the teacher, then train a head on the labels it is sure of."""
    if not config.teacher:
        raise BadInput("distillation needs a teacher: --param teacher=MODEL (a text-classification or sentiment "
                       "model, e.g. sentiment-llm-large)")
    if not 0.0 <= config.min_confidence < 1.0:
        raise BadInput(f"min_confidence must be in [0, 1), got {config.min_confidence}")
    given = labelled_rows(config.labelled_data) if config.labelled_data else []  # its errors before the slow part
    started = time.perf_counter()
    labelled = teacher_labels(config.teacher, [str(rec["text"]) for rec in records], progress)
    training, report = confident_records(records, labelled, config.min_confidence)
    report = {"teacher": config.teacher, **report, "teacher_seconds": round(time.perf_counter() - started, 1)}
    if given:
        unknown = sorted({row["label"] for row in given} - set(labelled.names))
        if unknown:
            raise BadInput(f"labelled_data {config.labelled_data}: {names(unknown, 'labels the teacher does not give')};"
                           f" its labels: {labelled.names}", hint="rename them to the teacher's labels, or choose "
                           "a teacher with them")
        training += given
        report |= {"labelled_data": config.labelled_data, "labelled_rows": len(given)}
    return train_embedding_head(training, out_dir, config.head or HeadConfig(), name=name, task=task,
                                progress=progress, card_extra={"options": {"backend": "embedding-head"},
                                                               "distillation": report, **(card_extra or {})})


def labelled_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of ``labelled_data`` (``text`` and ``label`` columns), every one labelled."""
    from ...data.loaders import read_labelled_table

    rows = read_labelled_table(path, input_field="text", target_field="label", target_optional=True)
    unlabelled = sum(1 for row in rows if "label" not in row)
    if unlabelled:
        raise BadInput(f"labelled_data {path}: {unlabelled} of {len(rows)} rows have no label",
                       hint="give every row a label, or leave the file out")
    return [{"text": str(row["text"]), "label": str(row["label"]), "source": "labelled_data"} for row in rows]


@dataclass
class TeacherLabels:
    """What a teacher said of each text: its label and its probability, and the teacher's label set."""

    labels: list[str]
    confidence: list[float]
    names: list[str]


def teacher_labels(teacher_name: str, texts: list[str], progress=False) -> TeacherLabels:
    """Run the teacher (any text-classification model) over ``texts``, with a progress bar."""
    from ...core.loading import load_task

    teacher = load_task("text-classification", teacher_name)
    labels, confidence = [], []
    with reporter(progress) as rep:
        tick = rep.stage(f"labelling by {teacher_name}", len(texts))
        for start in range(0, len(texts), TEACHER_BATCH_TEXTS):
            for out in teacher([teacher.coerce(text) for text in texts[start:start + TEACHER_BATCH_TEXTS]]):
                labels.append(str(out.label))
                confidence.append(float(out.score))
            tick(len(labels))
    return TeacherLabels(labels, confidence, [str(label) for label in teacher.labels])


def confident_records(records: list[dict[str, Any]], labelled: TeacherLabels,
                      min_confidence: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The training records (``source: "teacher"``) the teacher is sure of, and a report for the model card."""
    kept = [i for i, p in enumerate(labelled.confidence) if p >= min_confidence]
    counts = {label: sum(1 for i in kept if labelled.labels[i] == label) for label in labelled.names}
    if sum(1 for n in counts.values() if n >= 2) < 2:
        raise BadInput(f"the teacher left {label_counts(counts, 'texts')}: fewer than 2 labels with 2 texts each",
                       hint="add more texts, or lower min_confidence")
    training = [{"text": str(records[i]["text"]), "label": labelled.labels[i], "source": "teacher"}
                for i in kept if counts[labelled.labels[i]] >= 2]
    report = {"texts": len(records), "kept": len(training), "min_confidence": min_confidence,
              "label_counts": counts, **_agreement(records, labelled.labels)}
    return training, report


def _agreement(records: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    """How often the teacher agreed with the file's own labels, when it has some (they are not trained on)."""
    pairs = [(str(rec["label"]), label) for rec, label in zip(records, labels) if "label" in rec]
    if not pairs:
        return {}
    return {"file_labels": len(pairs), "teacher_agrees_with_file_labels": round(sum(a == b for a, b in pairs) / len(pairs), 4)}
