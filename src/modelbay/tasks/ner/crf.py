"""Character-level CRF for entity extraction (Chinese): features, training, tagging and entity scores.

A model directory holds

* ``ner.crfsuite`` — the CRF (python-crfsuite / CRFsuite format, L-BFGS with L1+L2)
* ``crf.json`` — the feature configuration and tag scheme, so tagging builds the same features
* ``model_card.json`` — data hash, options, validation metrics, training time

Features of character *i* (characters NFKC-normalised, so full-width ``１９９８`` and ASCII
``1998`` look alike): the characters in a window of ±``window``, the character bigrams in that
window, optionally the trigram centred on *i*, and the coarse type (Han, digit, Latin,
punctuation, other) of *i* and its neighbours. Tags are BIOES (or BIO) over PER/LOC/ORG….

>>> cfg = CrfConfig(window=1)
>>> char_features("北京", cfg)[0][:4]
['bias', 'c-1=<s>', 'c0=北', 'c1=京']
"""

from __future__ import annotations

import hashlib
import json
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput, ModelUnavailable
from ...data.splits import validation_warnings
from ...ml.options import config_from_options

FORMAT = "modelbay.ner-crf/1"
MODEL_FILE = "ner.crfsuite"
CONFIG_FILE = "crf.json"


@dataclass
class CrfConfig:
    """What to train; defaults are the shipped ``ner-zh-pd98`` recipe (see scripts/train_ner_zh.py)."""

    window: int = 2              # characters each side used as features
    bigrams: bool = True         # character bigrams inside the window
    trigram: bool = True         # the trigram centred on the character
    char_types: bool = True      # Han / digit / Latin / punctuation / other, of i-1, i, i+1
    scheme: str = "BIOES"        # or "BIO"
    c1: float = 0.05             # L1 penalty: prunes features, keeps the model file small
    c2: float = 0.01             # L2 penalty
    max_iterations: int = 150
    min_freq: int = 1            # features seen fewer times are dropped before training
    val_fraction: float = 0.1    # share of records held out for the validation metrics
    split: str = "tail"          # "tail": the last records (later documents); "random": seeded shuffle
    seed: int = 0

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> CrfConfig:
        config = config_from_options(cls, options, what="the CRF")
        if config.scheme not in ("BIO", "BIOES"):
            raise BadInput(f"scheme {config.scheme!r}: expected BIO or BIOES")
        if config.split not in ("tail", "random"):
            raise BadInput(f"split {config.split!r}: expected tail or random")
        if not 0 <= config.val_fraction < 1:
            raise BadInput(f"val_fraction {config.val_fraction}: expected 0 <= x < 1")
        return config


def _norm(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 else char


def _kind(char: str) -> str:
    if char.isdigit() or char in "〇零一二三四五六七八九十百千万亿":
        return "D" if char.isdigit() else "N"
    if char.isascii() and char.isalpha():
        return "L"
    if unicodedata.category(char).startswith(("P", "S")):
        return "P"
    if char.isspace():
        return "W"
    name = unicodedata.name(char, "")
    return "H" if name.startswith("CJK") else "O"


def char_features(text: str, config: CrfConfig) -> list[list[str]]:
    """CRFsuite attribute names for each character of ``text``."""
    w = config.window
    chars = ["<s>"] * w + [_norm(c) for c in text] + ["</s>"] * w
    kinds = ["B"] * w + [_kind(c) for c in chars[w:len(chars) - w]] + ["E"] * w
    out = []
    for i in range(w, len(chars) - w):
        feats = ["bias"]
        feats += [f"c{k}={chars[i + k]}" for k in range(-w, w + 1)]
        if config.bigrams:
            feats += [f"b{k}={chars[i + k]}{chars[i + k + 1]}" for k in range(-w, w)]
        if config.trigram and w >= 1:
            feats.append(f"t={chars[i - 1]}{chars[i]}{chars[i + 1]}")
        if config.char_types and w >= 1:
            feats += [f"k0={kinds[i]}", f"k-1={kinds[i - 1]}", f"k1={kinds[i + 1]}",
                      f"k={kinds[i - 1]}{kinds[i]}{kinds[i + 1]}"]
        out.append(feats)
    return out


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


class CrfTagger:
    """Tag texts with a trained model directory; entities carry the mean marginal probability of their tags."""

    def __init__(self, path: str | Path) -> None:
        import pycrfsuite

        path = Path(path)
        try:
            config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"{path / CONFIG_FILE}: cannot read the CRF configuration ({exc})",
                                   hint="retrain with `modelbay train ner --language zh` or reinstall the model") from None
        if config.get("format") != FORMAT:
            raise ModelUnavailable(f"{path / CONFIG_FILE}: format {config.get('format')!r}, expected {FORMAT!r}")
        self.config = CrfConfig(**config["features"])
        self.tagger = pycrfsuite.Tagger()
        try:
            self.tagger.open(str(path / MODEL_FILE))
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"{path / MODEL_FILE}: cannot open the CRF model ({exc})") from None

    def entities(self, text: str) -> list[dict[str, Any]]:
        """``[{"start", "end", "label", "score"}]`` for one text."""
        from .conll import tags_to_spans

        if not text:
            return []
        tags = self.tagger.tag(char_features(text, self.config))
        out = []
        for start, end, label in tags_to_spans(tags):
            probs = [self.tagger.marginal(tags[k], k) for k in range(start, end)]
            out.append({"start": start, "end": end, "label": label, "score": round(sum(probs) / len(probs), 4)})
        return out


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


def file_sha256(path: str | Path) -> str:
    """sha256 of a data file; of a folder, over its files' relative paths and contents in name order."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        if path.is_dir():
            digest.update(f"{file.relative_to(path)}\n".encode())
        with open(file, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def split_records(records: list[dict], val_fraction: float, split: str = "tail", seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Train/validation split: the last ``val_fraction`` of records ("tail") or a seeded random share."""
    import random

    n_val = round(len(records) * val_fraction) if len(records) >= 10 else 0
    if n_val == 0:
        return list(records), []
    if split == "random":
        order = list(range(len(records)))
        random.Random(seed).shuffle(order)
        val = set(order[:n_val])
        return [r for i, r in enumerate(records) if i not in val], [r for i, r in enumerate(records) if i in val]
    return list(records[:-n_val]), list(records[-n_val:])


def train_crf(records: list[dict], out_dir: str | Path, config: CrfConfig | None = None, *, name: str = "ner-crf",
              task: str = "ner", progress: Any = False, data_file: str | Path | None = None,
              card_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train a character CRF on ``records`` (``{"text", "entities"}``) into ``out_dir``; returns the model card."""
    import pycrfsuite

    from ...ml.progress import reporter

    config = config or CrfConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train, val = split_records(records, config.val_fraction, config.split, config.seed)
    if not any(r["entities"] for r in train):
        raise BadInput(f"no entities in the {len(train)} training sentences", hint="check the tags of your data")
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
        trainer.train(str(out_dir / MODEL_FILE))
        step(config.max_iterations)
    train_s = time.perf_counter() - t0
    (out_dir / CONFIG_FILE).write_text(json.dumps({"format": FORMAT, "features": asdict(config)}, indent=2) + "\n",
                                       encoding="utf-8")
    tagger = CrfTagger(out_dir)
    metrics: dict[str, Any] = {}
    if val:
        predicted = [tagger.entities(r["text"]) for r in val]
        metrics["validation"] = {**entity_scores([r["entities"] for r in val], predicted),
                                 "n_sentences": len(val), "split": f"{config.split} {config.val_fraction:.0%} of the records"}
    labels = sorted({e["label"] for r in records for e in r["entities"]})
    card = {
        "name": name, "task": task, "languages": [records[0].get("language") or "zh"], "base_model": None,
        "labels": labels, "format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": {"file": str(data_file) if data_file else None,
                 "sha256": file_sha256(data_file) if data_file else None,
                 "n_records": len(records), "n_train": len(train), "n_validation": len(val),
                 "n_characters": sum(len(r["text"]) for r in records)},
        "options": {"backend": "crf", "model_file": MODEL_FILE, "config_file": CONFIG_FILE},
        "config": asdict(config),
        "training": {"seconds": round(train_s, 1), "model_bytes": (out_dir / MODEL_FILE).stat().st_size},
        "metrics": metrics,
        "warnings": validation_warnings(len(val), "sentences"),
    }
    card.update(card_extra or {})
    (out_dir / "model_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return card
