"""The character-CRF model format, reader and writer together (``modelbay.ner-crf/1``).

A model directory holds

* ``ner.crfsuite`` — the CRF (python-crfsuite / CRFsuite format, L-BFGS with L1+L2), written by
  CRFsuite's trainer, which fits and saves in one call (``crf.py``)
* ``crf.json`` — the feature configuration and tag scheme, so tagging builds the same features
* ``model_card.json`` — data hash, options, validation metrics, training time

Features of character *i* (characters NFKC-normalised, so full-width ``１９９８`` and ASCII
``1998`` look alike): the characters in a window of ±``window``, the character bigrams in that
window, optionally the trigram centred on *i*, and the coarse type (Han, digit, Latin,
punctuation, other) of *i* and its neighbours; with ``words``, also where *i* sits in its jieba
word (B/M/E/S) and that word's part-of-speech tag and its neighbours' (jieba's dictionary tags
person, place and organisation names: nr, ns, nt). Tags are BIOES (or BIO) over PER/LOC/ORG….

>>> cfg = CrfConfig(window=1)
>>> char_features("北京", cfg)[0][:4]
['bias', 'c-1=<s>', 'c0=北', 'c1=京']
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput, ModelUnavailable
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
    words: bool = False          # jieba word boundary and part-of-speech features (models.md, NER)
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
    if config.words:
        for feats, extra in zip(out, word_features(text), strict=True):
            feats += extra
    return out


def word_features(text: str) -> list[list[str]]:
    """For each character: its place in its jieba word (B/M/E/S), the word's part-of-speech tag, the tag
    with the place, and the previous and next words' tags."""
    import jieba.posseg

    words = [(w.word, w.flag) for w in jieba.posseg.lcut(text, HMM=True)]
    if sum(len(word) for word, _ in words) != len(text):  # jieba dropped or changed characters: no word features
        return [[] for _ in text]
    out: list[list[str]] = []
    for n, (word, tag) in enumerate(words):
        before = words[n - 1][1] if n else "<s>"
        after = words[n + 1][1] if n + 1 < len(words) else "</s>"
        for k in range(len(word)):
            place = "S" if len(word) == 1 else "B" if k == 0 else "E" if k == len(word) - 1 else "M"
            out.append([f"wp={place}", f"wt={tag}", f"wtp={tag}{place}", f"wt-1={before}", f"wt+1={after}"])
    return out


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


def write_crf_config(directory: Path, config: CrfConfig) -> None:
    """``crf.json``: the format and every ``CrfConfig`` field (``CrfTagger`` builds its features from them)."""
    from ...ml.model_dir import write_json

    write_json(directory, CONFIG_FILE, {"format": FORMAT, "features": asdict(config)})
