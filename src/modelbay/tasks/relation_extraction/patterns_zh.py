"""Chinese triples from jieba part-of-speech tags: simple clause rules, no parser.

A text is cut into clauses at ``。！？；，`` and newlines; in each clause, consecutive nouns
(``n``, ``nr`` person, ``ns`` place, ``nt`` organisation, ``nz`` other proper noun, ``vn``, ``eng``)
join into one argument. Then, per clause:

* ``X 的 R 是 Y`` — attribute: (苹果公司, 创始人, 乔布斯);
* ``X 是 Y`` — (X, 是, Y);
* ``X … V … Y`` — the first argument before the first verb is the subject, that verb (with a
  directly following verb or preposition, 位于/出生于/收购了) the relation, and the first
  argument after it the object: (华为, 位于, 深圳).

Arguments tagged ``nr``/``ns``/``nt`` carry PER/LOC/ORG. Rules like these are precise on short
declarative sentences and miss much of real prose; the LLM path does better where one is installed.
"""

from __future__ import annotations

import re
from typing import Any

_NOUN_TAGS = {"n", "nr", "nrfg", "nrt", "ns", "nt", "nz", "vn", "eng", "nw", "PER", "LOC", "ORG"}
_LABELS = {"nr": "PER", "nrfg": "PER", "nrt": "PER", "ns": "LOC", "nt": "ORG"}
_VERB_TAGS = {"v", "vd", "vi", "vq"}
_JOINERS = {"p", "v", "ul", "uz", "ug"}  # a preposition, second verb or aspect particle (了/着/过) extends a relation
_CLAUSE = re.compile(r"[^。！？；，,;!?\n]+")


def _tokens(clause: str, offset: int) -> list[tuple[str, str, int]]:
    import jieba.posseg as pseg

    out, pos = [], offset
    for pair in pseg.lcut(clause, HMM=True):
        out.append((pair.word, pair.flag, pos))
        pos += len(pair.word)
    # jieba tags some verbs as nouns (会见/n); one followed by an aspect particle (了/着/过) is a verb
    return [(w, "v" if f in ("n", "vn") and i + 1 < len(out) and out[i + 1][1] in ("ul", "uz", "ug") else f, p)
            for i, (w, f, p) in enumerate(out)]


def _chunks(tokens: list[tuple[str, str, int]]) -> list[dict[str, Any]]:
    """Tokens with consecutive nouns merged: ``{"kind": "arg"|"verb"|"other", "text", "flag", "start", "end"}``."""
    chunks: list[dict[str, Any]] = []
    for word, flag, start in tokens:
        kind = "arg" if flag in _NOUN_TAGS else "verb" if flag in _VERB_TAGS or word == "是" else "other"
        if word == "是":
            flag = "shi"
        last = chunks[-1] if chunks else None
        if kind == "arg" and last and last["kind"] == "arg" and last["end"] == start:
            last["text"] += word
            last["end"] = start + len(word)
            # "华为/nr 总部/n" is no person: a merged argument keeps a label only if every part has it
            last["label"] = last["label"] if _LABELS.get(flag) == last["label"] else None
            continue
        chunks.append({"kind": kind, "text": word, "flag": flag, "start": start, "end": start + len(word),
                       "label": _LABELS.get(flag)})
    return chunks


def _triple(subject: dict, relation: str, obj: dict, sentence: str) -> dict[str, Any]:
    return {"subject": subject["text"], "relation": relation, "object": obj["text"],
            "subject_start": subject["start"], "subject_end": subject["end"],
            "object_start": obj["start"], "object_end": obj["end"],
            "subject_label": subject["label"], "object_label": obj["label"], "sentence": sentence}


def _clause_triples(chunks: list[dict[str, Any]], sentence: str) -> list[dict[str, Any]]:
    verbs = [i for i, c in enumerate(chunks) if c["kind"] == "verb"]
    if not verbs:
        return []
    v = verbs[0]
    before = [c for c in chunks[:v] if c["kind"] == "arg"]
    if not before:
        return []
    # X 的 R 是 Y: the attribute R of X is Y
    if chunks[v]["flag"] == "shi" and len(before) >= 2 and any(c["text"] == "的" for c in chunks[:v]):
        after = [c for c in chunks[v + 1:] if c["kind"] == "arg"]
        if after:
            return [_triple(before[0], before[-1]["text"], after[0], sentence)]
    end = v + 1
    while end < len(chunks) and chunks[end]["flag"] in _JOINERS and chunks[end]["kind"] != "arg":
        end += 1
    relation = "".join(c["text"] for c in chunks[v:end] if c["flag"] not in ("ul", "uz", "ug"))
    after = [c for c in chunks[end:] if c["kind"] == "arg"]
    if not after:
        return []
    return [_triple(before[0], relation, after[0], sentence)]


def chinese_triples(text: str) -> list[dict[str, Any]]:
    """Triples of a Chinese text, with character offsets of their arguments.

    >>> [(t["subject"], t["relation"], t["object"]) for t in chinese_triples("华为总部位于深圳。")]  # doctest: +SKIP
    [('华为总部', '位于', '深圳')]
    """
    out = []
    for match in _CLAUSE.finditer(text):
        clause = match.group()
        if not clause.strip():
            continue
        sentence = _sentence_around(text, match.start(), match.end())
        out.extend(_clause_triples(_chunks(_tokens(clause, match.start())), sentence))
    return out


def _sentence_around(text: str, start: int, end: int) -> str:
    left = max(text.rfind(p, 0, start) for p in "。！？\n") + 1
    rights = [i for i in (text.find(p, end) for p in "。！？\n") if i >= 0]
    return text[left:(min(rights) + 1) if rights else len(text)].strip()
