"""Read labelled entity data (NER) into records ``{"text", "entities": [{"start", "end", "label"}]}``.

Formats (``format=`` or inferred from the file name):

* ``conll`` (``.conll``, ``.bio``, ``.iob``, ``.tsv``) — one token per line, its tag in the last
  column (CoNLL-2003's four columns work), a blank line between sentences, ``-DOCSTART-`` lines
  skipped. Tags ``O`` or ``B-``/``I-``/``M-``/``E-``/``S-``/``L-``/``U-`` + label: BIO, IOB1, IOB2,
  BIOES, BMES (MSRA's) and BILOU all read the same. Character-per-line Chinese CoNLL joins without spaces.
* ``word/tag`` (``.txt``) — People's Daily style: ``word/tag`` tokens separated by spaces, one
  sentence or paragraph per line. ``nr`` person, ``ns`` place, ``nt`` organisation (and their
  sub-tags ``nrf``, ``nsf``…); consecutive ``nr`` tokens (family + given name, 江/nr 泽民/nr) are
  one person; ``[中央/n 电视台/n]nt`` is one organisation; a leading document id such as
  ``19980101-01-001-001/m`` is skipped.
* ``jsonl`` (``.jsonl``, ``.json``) — one object a line with ``text`` and ``entities`` as
  ``{"start", "end", "label"}`` objects or ``[start, end, label]`` lists; spaCy's training
  tuples ``["text", {"entities": [[start, end, label]]}]`` work too.
* ``spacy`` (``.spacy``) — a spaCy ``DocBin``.

Labels are normalised (:func:`normalise_label`): PERSON→PER, GPE/LOCATION→LOC,
ORGANIZATION→ORG; other labels are kept, upper-cased. Errors name the file, the line and the problem;
in a server job they quote nothing from the file (see ``data/roots.py``).

>>> tags_to_spans(["B-PER", "I-PER", "O", "S-LOC"])
[(0, 2, 'PER'), (3, 4, 'LOC')]
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...data.roots import check_readable, confined, detail, shown

FORMATS = ("conll", "word/tag", "jsonl", "spacy")
_EXTENSIONS = {".conll": "conll", ".conllu": "conll", ".bio": "conll", ".iob": "conll", ".bioes": "conll",
               ".tsv": "conll", ".txt": "word/tag", ".jsonl": "jsonl", ".json": "jsonl", ".spacy": "spacy"}
_LABELS = {"PERSON": "PER", "PER": "PER", "NR": "PER", "GPE": "LOC", "LOC": "LOC", "LOCATION": "LOC", "NS": "LOC",
           "ORG": "ORG", "ORGANIZATION": "ORG", "ORGANISATION": "ORG", "NT": "ORG"}
_TAG = re.compile(r"^(?:O|([BIEMSLU])-(.+))$")
_DOC_ID = re.compile(r"^\d{8}-\d{2}-\d{3}-\d{3}$")
_CLOSE = re.compile(r"^(.*/[^/\]]+)\]([A-Za-z]+)$")


def normalise_label(label: str) -> str:
    """``PERSON``→``PER``, ``GPE``/``LOC``→``LOC``, ``ORG``→``ORG``; any other label upper-cased."""
    return _LABELS.get(label.strip().upper(), label.strip().upper())


def is_cjk(char: str) -> bool:
    """Han characters (CJK unified ideographs and their extensions/compatibility blocks)."""
    return unicodedata.name(char, "").startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH"))


def join_tokens(tokens: list[str], language: str | None) -> tuple[str, list[int]]:
    """Join tokens into text; returns the text and each token's start offset.

    ``zh``: no spaces; ``en``: single spaces; ``None``: a space unless a Han character is on either side.
    """
    parts, starts, pos = [], [], 0
    for i, token in enumerate(tokens):
        if i and (language == "en" or (language is None and not (is_cjk(tokens[i - 1][-1]) or is_cjk(token[0])))):
            parts.append(" ")
            pos += 1
        starts.append(pos)
        parts.append(token)
        pos += len(token)
    return "".join(parts), starts


def tags_to_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """Token spans ``(start, end_exclusive, label)`` from BIO/IOB1/IOB2/BIOES/BMES/BILOU tags (already validated)."""
    spans: list[tuple[int, int, str]] = []
    start, label = None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        continues = prefix in ("I", "M", "E", "L") and label == name and start is not None
        if start is not None and not continues:
            spans.append((start, i, label))
            start, label = None, None
        if prefix in ("B", "S", "U") or (prefix in ("I", "M", "E", "L") and start is None):
            start, label = i, name
        if prefix in ("E", "L", "S", "U"):
            spans.append((start, i + 1, label))
            start, label = None, None
    return spans


def infer_format(path: Path) -> str:
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise BadInput(f"{path}: cannot tell the data format from the name", hint=f"pass --format, one of: {', '.join(FORMATS)}")
    return fmt


def load_ner_records(path: str | Path, data_format: str | None = None, language: str | None = None) -> list[dict[str, Any]]:
    """Records ``{"text", "entities": [{"start", "end", "label"}]}`` (plus ``language`` when given) from a file.

    >>> load_ner_records("people_daily.txt", "word/tag", "zh")[0]     # doctest: +SKIP
    {'text': '中共中央总书记、国家主席江泽民', 'entities': [{'start': 0, 'end': 4, 'label': 'ORG'}, ...], 'language': 'zh'}
    """
    path = check_readable(path)
    if not path.is_file():
        raise BadInput(f"no such data file: {path}")
    fmt = (data_format or infer_format(path)).strip().lower().replace("_", "/")
    fmt = {"wordtag": "word/tag", "word-tag": "word/tag", "people-daily": "word/tag", "json": "jsonl"}.get(fmt, fmt)
    if language not in (None, "en", "zh"):
        raise BadInput(f"language {language!r}: expected 'en' or 'zh'")
    readers = {"conll": read_conll, "word/tag": read_word_tag, "jsonl": read_jsonl, "spacy": read_docbin}
    if fmt not in readers:
        raise BadInput(f"unknown data format {data_format!r}", hint=f"one of: {', '.join(FORMATS)}")
    records = readers[fmt](path, language)
    if not records:
        raise BadInput(f"{path}: no sentences found (read as {fmt})")
    if language:
        for record in records:
            record["language"] = language
    return records


def _lines(path: Path):
    try:
        with open(path, encoding="utf-8-sig") as fh:
            yield from enumerate(fh, start=1)
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_conll(path: Path, language: str | None = None) -> list[dict[str, Any]]:
    """One ``token tag`` per line (tag in the last column), blank lines between sentences."""
    records: list[dict[str, Any]] = []
    tokens: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if tokens:
            text, starts = join_tokens(tokens, language)
            entities = [{"start": starts[a], "end": starts[b - 1] + len(tokens[b - 1]), "label": normalise_label(lab)}
                        for a, b, lab in tags_to_spans(tags)]
            records.append({"text": text, "entities": entities})
        tokens.clear()
        tags.clear()

    for number, raw in _lines(path):
        line = raw.rstrip("\r\n")
        if not line.strip():
            flush()
            continue
        columns = line.split("\t") if "\t" in line else line.split()
        columns = [c for c in (c.strip() for c in columns) if c]
        if columns and columns[0] == "-DOCSTART-":
            flush()
            continue
        if len(columns) < 2:
            raise BadInput(f"{path}:{number}: expected 'token<TAB>tag', got {shown(line).lstrip() or 'one column'}",
                           hint="CoNLL has one token and its tag per line and a blank line between sentences")
        tag = columns[-1]
        if not _TAG.match(tag):
            bad = "bad tag in the last column" if confined() else f"bad tag {tag!r} for token {columns[0]!r}"
            raise BadInput(f"{path}:{number}: {bad}",
                           hint="tags are O or B-/I-/E-/S- followed by a label, e.g. B-PER")
        tokens.append(columns[0])
        tags.append(tag)
    flush()
    return records


def _entity_tag(tag: str) -> str | None:
    tag = tag.lower()
    for prefix, label in (("nr", "PER"), ("ns", "LOC"), ("nt", "ORG")):
        if tag.startswith(prefix):
            return label
    return None


def parse_word_tag_line(line: str, where: str = "line", language: str | None = "zh") -> dict[str, Any] | None:
    """One People's Daily line → a record, or None for an empty line. ``where`` names it in errors."""
    words: list[str] = []
    labels: list[str | None] = []   # entity label of each word (None: not part of an entity)
    groups: list[int] = []          # id of the [...]-entity group a word is in (-1: none)
    bracket_start, group = None, 0
    for index, token in enumerate(line.split()):
        if token.startswith("[") and token[1:].rpartition("/")[0]:
            if bracket_start is not None:
                raise BadInput(f"{where}: '[' inside another [...] group at token {index + 1}{shown(token)}")
            token, bracket_start = token[1:], len(words)
        closing = None
        match = _CLOSE.match(token)
        if match and bracket_start is not None:
            token, closing = match.group(1), match.group(2)
        word, slash, tag = token.rpartition("/")
        if not slash or not word or not tag:
            raise BadInput(f"{where}: token {index + 1}{shown(token)} is not word/tag",
                           hint="People's Daily format: words as word/tag separated by spaces, e.g. 江/nr 泽民/nr")
        if index == 0 and _DOC_ID.match(word):
            continue
        words.append(word)
        labels.append(_entity_tag(tag))
        groups.append(-1)
        if closing is not None:
            outer = _entity_tag(closing)
            if outer is not None:  # the whole group is one entity; its parts' own tags give way
                for k in range(bracket_start, len(words)):
                    labels[k], groups[k] = outer, group
                group += 1
            bracket_start = None
    if bracket_start is not None:
        raise BadInput(f"{where}: '[' at word {bracket_start + 1} is never closed with ']tag'")
    if not words:
        return None
    text, starts = join_tokens(words, language)
    entities: list[dict[str, Any]] = []
    k = 0
    while k < len(words):
        if labels[k] is None:
            k += 1
            continue
        end = k + 1
        if groups[k] >= 0:
            while end < len(words) and groups[end] == groups[k]:
                end += 1
        elif labels[k] == "PER":  # family name + given name are separate nr words
            while end < len(words) and labels[end] == "PER" and groups[end] < 0:
                end += 1
        entities.append({"start": starts[k], "end": starts[end - 1] + len(words[end - 1]), "label": labels[k]})
        k = end
    return {"text": text, "entities": entities}


def read_word_tag(path: Path, language: str | None = None) -> list[dict[str, Any]]:
    """People's Daily ``word/tag`` lines; see :func:`parse_word_tag_line`."""
    records = []
    for number, line in _lines(path):
        record = parse_word_tag_line(line, f"{path}:{number}", language or "zh")
        if record is not None:
            records.append(record)
    return records


def read_jsonl(path: Path, language: str | None = None) -> list[dict[str, Any]]:
    """``{"text", "entities"}`` objects, or spaCy training tuples, one per line."""
    records = []
    for number, line in _lines(path):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if isinstance(row, list) and len(row) == 2 and isinstance(row[1], dict):
            row = {"text": row[0], "entities": row[1].get("entities", [])}
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"]:
            got = shown(line.strip()).lstrip() or f"a {type(row).__name__}"
            raise BadInput(f"{where}: expected an object with a non-empty 'text' and 'entities', got {got}")
        entities = row.get("entities", row.get("label", []))
        records.append({"text": row["text"], "entities": _check_entities(entities, row["text"], where)})
    return records


def _check_entities(entities: Any, text: str, where: str) -> list[dict[str, Any]]:
    if not isinstance(entities, list):
        raise BadInput(f"{where}: 'entities' must be a list, got {type(entities).__name__}")
    out = []
    for i, ent in enumerate(entities):
        if isinstance(ent, dict):
            start, end, label = ent.get("start"), ent.get("end"), ent.get("label")
        elif isinstance(ent, (list, tuple)) and len(ent) == 3:
            start, end, label = ent
        else:
            raise BadInput(f"{where}: entity {i} must be {{start, end, label}} or [start, end, label], got {shown(ent).lstrip() or 'a ' + type(ent).__name__}")
        if not (isinstance(start, int) and isinstance(end, int)):
            raise BadInput(f"{where}: entity {i} has offsets that are not whole numbers")
        if not 0 <= start < end <= len(text):
            raise BadInput(f"{where}: entity {i} has offsets {start}..{end} outside the text (length {len(text)})",
                           hint="offsets are character positions, end exclusive")
        if not isinstance(label, str) or not label.strip():
            raise BadInput(f"{where}: entity {i} has no label")
        out.append({"start": start, "end": end, "label": normalise_label(label)})
    return sorted(out, key=lambda e: (e["start"], e["end"]))


def read_docbin(path: Path, language: str | None = None) -> list[dict[str, Any]]:
    """A spaCy ``DocBin`` (``.spacy``) file."""
    import spacy
    from spacy.tokens import DocBin

    try:
        docs = list(DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab))
    except (ValueError, KeyError, OSError) as exc:
        raise BadInput(f"{path}: not a spaCy DocBin file ({detail(exc)})") from None
    return [{"text": doc.text, "entities": [{"start": e.start_char, "end": e.end_char, "label": normalise_label(e.label_)}
                                            for e in doc.ents]} for doc in docs if doc.text]
