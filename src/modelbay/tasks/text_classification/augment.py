"""Text augmentation for training classifiers: EDA edits and back-translation.

EDA (Wei & Zou, 2019, "Easy Data Augmentation") makes a new training text from an old one
with one of four cheap edits: swap two words, delete words at random, insert a copy of a
word of the same text, or replace words with synonyms. Synonym replacement runs only when a
local synonym source exists (a dict you pass, or NLTK's WordNet if its corpus is already on
disk: nothing is downloaded); otherwise the other three edits are used.

Words: runs of Latin letters/digits split on spaces; Chinese (and other wide-character)
text is cut into words by snownlp when it is installed, into characters otherwise. Words of
wide scripts are joined with no space, so Chinese stays Chinese.

Everything is seeded: the same records, copies and seed give the same augmented texts.

>>> recs = [{"text": "the parcel arrived late and damaged", "label": "negative"}]
>>> out = augment_records(recs, copies=2, seed=0)
>>> len(out), {r["label"] for r in out}, out[0] == recs[0]
(3, {'negative'}, True)
"""

from __future__ import annotations

import functools
import random
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["EdaConfig", "augment_records", "back_translate", "eda", "join_words", "split_words", "task_translator",
           "wordnet_synonyms"]

#: a synonym source: word -> synonyms
Synonyms = Mapping[str, Sequence[str]] | Callable[[str], Sequence[str]]
_WIDE_RUN = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+")


@dataclass(frozen=True)
class EdaConfig:
    """How strong each edit is; ``alpha`` is the share of a text's words an edit touches (at least one)."""

    alpha_swap: float = 0.1
    alpha_insert: float = 0.1
    alpha_synonym: float = 0.1
    p_delete: float = 0.1
    operations: tuple[str, ...] = ("swap", "delete", "insert", "synonym")
    max_tries: int = 5   # edits of a very short text may give the text back; try again, then give up

    def __post_init__(self) -> None:
        unknown = sorted(set(self.operations) - {"swap", "delete", "insert", "synonym"})
        if unknown or not self.operations:
            raise ValueError(f"unknown EDA operation(s) {unknown or self.operations}; known: swap, delete, insert, synonym")
        for name in ("alpha_swap", "alpha_insert", "alpha_synonym", "p_delete"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value}")


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


@functools.lru_cache(maxsize=1)
def _segmenter() -> Callable[[str], list[str]] | None:
    try:
        from snownlp import seg
    except ImportError:
        return None
    return seg.seg


def split_words(text: str, *, cjk_words: bool = True) -> list[str]:
    """Words of a text: spaces split Latin text; wide-script runs go to snownlp (or into characters).

    >>> split_words("很好用 five stars")[-2:]
    ['five', 'stars']
    """
    words: list[str] = []
    for chunk in text.split():
        pos = 0
        for m in _WIDE_RUN.finditer(chunk):
            if m.start() > pos:
                words.append(chunk[pos:m.start()])
            run = m.group()
            segment = _segmenter() if cjk_words else None  # loaded only for text that needs it (~3 s)
            words.extend(w for w in (segment(run) if segment else list(run)) if w)
            pos = m.end()
        if pos < len(chunk):
            words.append(chunk[pos:])
    return words


def join_words(words: Sequence[str]) -> str:
    """The inverse of :func:`split_words`: a space between two words unless either side is wide.

    >>> join_words(["物流", "很", "快", "。", "five", "stars"])
    '物流很快。five stars'
    """
    out: list[str] = []
    for word in words:
        if out and not (_is_wide(out[-1][-1]) or _is_wide(word[0])):
            out.append(" ")
        out.append(word)
    return "".join(out)


def _count(alpha: float, n: int) -> int:
    return max(1, int(alpha * n))


def _swap(words: list[str], rng: random.Random, config: EdaConfig, synonyms) -> list[str]:
    words = list(words)
    for _ in range(_count(config.alpha_swap, len(words))):
        i, j = rng.randrange(len(words)), rng.randrange(len(words))
        words[i], words[j] = words[j], words[i]
    return words


def _delete(words: list[str], rng: random.Random, config: EdaConfig, synonyms) -> list[str]:
    if len(words) == 1:
        return words
    kept = [w for w in words if rng.random() > config.p_delete]
    return kept or [rng.choice(words)]


def _insert(words: list[str], rng: random.Random, config: EdaConfig, synonyms) -> list[str]:
    words = list(words)
    for _ in range(_count(config.alpha_insert, len(words))):
        words.insert(rng.randrange(len(words) + 1), rng.choice(words))
    return words


def _lookup(synonyms: Synonyms, word: str) -> list[str]:
    found = synonyms(word) if callable(synonyms) else synonyms.get(word.lower(), ())
    return [s for s in found if s and s.lower() != word.lower()]


def _synonym(words: list[str], rng: random.Random, config: EdaConfig, synonyms) -> list[str]:
    words = list(words)
    candidates = [i for i, w in enumerate(words) if _lookup(synonyms, w)]
    rng.shuffle(candidates)
    for i in candidates[:_count(config.alpha_synonym, len(words))]:
        words[i] = rng.choice(sorted(_lookup(synonyms, words[i])))
    return words


_OPERATIONS = {"swap": _swap, "delete": _delete, "insert": _insert, "synonym": _synonym}


def eda(text: str, rng: random.Random, config: EdaConfig | None = None, synonyms: Synonyms | None = None) -> str:
    """One EDA edit of ``text``, chosen at random among the configured operations.

    Returns the text unchanged when no edit changes it (a one-word text, say).

    >>> eda("the box arrived broken", random.Random(1), EdaConfig(operations=("swap",)))
    'arrived box the broken'
    """
    config = config or EdaConfig()
    words = split_words(text)
    ops = [op for op in config.operations if op != "synonym" or synonyms is not None]
    if not words or not ops:
        return text
    for _ in range(config.max_tries):
        op = rng.choice(ops)
        new = join_words(_OPERATIONS[op](words, rng, config, synonyms))
        if new and new != text:
            return new
    return text


@functools.lru_cache(maxsize=1)
def wordnet_synonyms() -> Callable[[str], list[str]] | None:
    """English synonyms from NLTK's WordNet when its corpus is already installed; None otherwise (never downloads)."""
    try:
        import nltk
        from nltk.corpus import wordnet

        nltk.data.find("corpora/wordnet")
    except (ImportError, LookupError):
        return None

    def lookup(word: str) -> list[str]:
        if not word.isascii() or not word.isalpha():
            return []
        return sorted({lemma.name().replace("_", " ") for s in wordnet.synsets(word.lower()) for lemma in s.lemmas()})

    return lookup


def augment_records(records: Sequence[dict], copies: int, *, seed: int = 0, config: EdaConfig | None = None,
                    synonyms: Synonyms | None = None, text_field: str = "text") -> list[dict]:
    """The records followed by ``copies`` EDA variants of each (labels and other fields kept, ``augmented: True``).

    Variants identical to their original or to each other are dropped, so a record may get fewer.
    Each record's variants depend only on the seed and its position, not on the other records.
    """
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    out = [dict(r) for r in records]
    for i, rec in enumerate(records):
        rng = random.Random(seed * 1_000_003 + i)
        text = str(rec[text_field])
        seen = {text}
        for _ in range(copies):
            new = eda(text, rng, config, synonyms)
            if new not in seen:
                seen.add(new)
                out.append({**rec, text_field: new, "augmented": True})
    return out


def back_translate(records: Sequence[dict], translate: Callable[[list[str], str], list[str]], *, pivot: str = "en",
                   text_field: str = "text", batch_size: int = 32) -> list[dict]:
    """Paraphrases by translating each text to ``pivot`` and back (``translate(texts, target_language)``).

    A text's own language is guessed as "zh" when it holds wide characters, else "en"; texts already in
    the pivot language go through the other one. Returns only the new records (``augmented: "back-translation"``);
    round trips that give the text back unchanged are dropped.
    """
    def language(text: str) -> str:
        return "zh" if any(_is_wide(c) for c in text) else "en"

    out: list[dict] = []
    groups: dict[tuple[str, str], list[dict]] = {}
    for rec in records:
        lang = language(str(rec[text_field]))
        via = pivot if lang != pivot else ("zh" if pivot == "en" else "en")
        groups.setdefault((lang, via), []).append(rec)
    for (lang, via), group in sorted(groups.items()):
        for start in range(0, len(group), batch_size):
            batch = group[start:start + batch_size]
            texts = [str(r[text_field]) for r in batch]
            there = translate(texts, via)
            back = translate(list(there), lang)
            if len(there) != len(texts) or len(back) != len(texts):
                raise ValueError(f"the translator returned {len(there)}/{len(back)} texts for {len(texts)}")
            out.extend({**r, text_field: b, "augmented": "back-translation"}
                       for r, t, b in zip(batch, texts, back) if b and b.strip() != t.strip())
    return out


def task_translator(model: str) -> Callable[[list[str], str], list[str]]:
    """``translate(texts, target_language)`` run by modelbay's translation task with a catalog model.

    For :func:`back_translate`; fails with a clear error while no translation task or model is installed.
    """
    from ...core.errors import BadInput, UnknownTask
    from ...core.loading import load_task
    from ...core.registry import get_task

    try:
        cls = get_task("translation")
    except UnknownTask:
        raise BadInput("back_translate needs a translation task, and this modelbay has none",
                       hint="leave back_translate unset; EDA augmentation (augment=N) works offline") from None
    fields = cls.Input.model_fields
    target = next((f for f in ("target_language", "target_lang", "tgt_lang", "target") if f in fields), None)
    if target is None:
        raise BadInput(f"the translation task's input has no target-language field (fields: {sorted(fields)})")
    task = load_task("translation", model)

    def translate(texts: list[str], language: str) -> list[str]:
        outputs = task([task.coerce({cls.primary_field: t, target: language}) for t in texts])
        return [next(v for v in o.model_dump().values() if isinstance(v, str)) for o in outputs]

    return translate
