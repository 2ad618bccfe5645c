"""English triples from spaCy dependency parses (en_core_web_sm): subject –verb(+particle/preposition)→ object.

Patterns, per verb of a sentence:

* ``nsubj`` — verb — ``dobj``/``attr``/``oprd``/``dative``: (Apple, acquire, Beats);
* ``nsubj`` — verb — ``prep`` — ``pobj``: (Tim Cook, live in, California);
* passive ``nsubjpass`` — verb — ``agent`` — ``pobj``: (Apple, found by, Steve Jobs);
* conjuncts share their head's role (``Jobs and Wozniak founded Apple`` gives two triples);
* an apposition gives ``is``: (Tim Cook, is, CEO of Apple).

Arguments are expanded to the named entity or noun chunk that holds them; pronouns and arguments
that are neither are dropped (they make no useful node).
"""

from __future__ import annotations

from typing import Any

_SUBJECTS = {"nsubj", "nsubjpass"}
#: spaCy's labels as the NER task names them (its other labels, DATE, MONEY…, are kept)
_LABELS = {"PERSON": "PER", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "ORG": "ORG"}
_OBJECTS = {"dobj", "attr", "oprd", "dative"}


def _phrase(token, spans: dict[int, Any]):
    """The entity or noun chunk holding ``token`` (or ``None`` for a pronoun or a bare function word)."""
    if token.pos_ == "PRON":
        return None
    span = spans.get(token.i)
    if span is not None:
        return span
    if token.pos_ in ("NOUN", "PROPN", "NUM"):
        return token.doc[token.i:token.i + 1]
    return None


def _with_conjuncts(tokens):
    out = []
    for token in tokens:
        out.append(token)
        out.extend(t for t in token.conjuncts if t.i > token.i)
    return out


def _span_index(doc) -> dict[int, Any]:
    """token index -> the entity (preferred) or noun chunk it belongs to, determiners trimmed."""
    index: dict[int, Any] = {}
    for chunk in doc.noun_chunks:
        start = chunk.start + (1 if chunk[0].pos_ == "DET" else 0)
        if start < chunk.end:
            for i in range(start, chunk.end):
                index[i] = doc[start:chunk.end]
    for ent in doc.ents:
        for i in range(ent.start, ent.end):
            index[i] = ent
    return index


def _relation(verb, *extra) -> str:
    particles = [t.text.lower() for t in verb.children if t.dep_ == "prt"]
    negated = any(t.dep_ == "neg" for t in verb.children)
    words = (["not"] if negated else []) + [verb.lemma_.lower(), *particles, *[e.text.lower() for e in extra]]
    return " ".join(words)


def _verb_triples(verb, spans) -> list[tuple[Any, str, Any]]:
    subjects = _with_conjuncts([t for t in verb.children if t.dep_ in _SUBJECTS])
    if not subjects and verb.dep_ == "conj" and verb.head.pos_ in ("VERB", "AUX"):
        subjects = _with_conjuncts([t for t in verb.head.children if t.dep_ in _SUBJECTS])
    pairs: list[tuple[str, Any]] = []
    for child in verb.children:
        if child.dep_ in _OBJECTS:
            pairs.extend((_relation(verb), o) for o in _with_conjuncts([child]))
        elif child.dep_ in ("prep", "agent"):
            for pobj in _with_conjuncts([t for t in child.children if t.dep_ == "pobj"]):
                pairs.append((_relation(verb, child), pobj))
    out = []
    for subject in subjects:
        s = _phrase(subject, spans)
        for relation, obj in pairs:
            o = _phrase(obj, spans)
            if s is not None and o is not None and s.start != o.start:
                out.append((s, relation, o))
    return out


def triples_from_doc(doc) -> list[dict[str, Any]]:
    """Triples of a parsed document: ``{"subject", "relation", "object", spans, "sentence"}``."""
    spans = _span_index(doc)
    found: list[tuple[Any, str, Any]] = []
    for token in doc:
        if token.pos_ in ("VERB", "AUX"):
            found.extend(_verb_triples(token, spans))
        elif token.dep_ == "appos":
            s, o = _phrase(token.head, spans), _phrase(token, spans)
            if s is not None and o is not None:
                found.append((s, "is", _expand_appos(token, spans)))
    out, seen = [], set()
    for s, relation, o in found:
        key = (s.start_char, relation, o.start_char)
        if key in seen:
            continue
        seen.add(key)
        out.append({"subject": s.text, "relation": relation, "object": o.text,
                    "subject_start": s.start_char, "subject_end": s.end_char,
                    "object_start": o.start_char, "object_end": o.end_char,
                    "subject_label": _label(s), "object_label": _label(o),
                    "sentence": s.sent.text.strip()})
    return out


def _label(span) -> str | None:
    label = getattr(span, "label_", "")
    return _LABELS.get(label, label) or None


def _expand_appos(token, spans):
    """An apposition with its ``of``-phrase: "CEO of Apple" rather than "CEO"."""
    doc = token.doc
    end = max(t.i for t in token.subtree) + 1
    start = min(t.i for t in token.subtree)
    while start < end and doc[start].pos_ in ("DET", "PUNCT"):
        start += 1
    while end > start and doc[end - 1].pos_ == "PUNCT":
        end -= 1
    return doc[start:end] if end > start else _phrase(token, spans)


def load_english(path) -> Any:
    """The full spaCy pipeline at ``path`` (parser, tagger, lemmatizer and NER are all needed here)."""
    import spacy

    return spacy.load(path)
