"""Files into :class:`~modelbay.kb.chunking.Block` s: Markdown, text, HTML, PDF, DOCX and FAQ tables.

Each reader keeps the structure chunking needs: Markdown and HTML headings become the section
path of the paragraphs under them (markdown-it-py and BeautifulSoup parse them), DOCX headings
come from the paragraph styles (python-docx), PDF text keeps its page (pypdfium2), and each
question/answer row of a CSV/TSV/JSONL/JSON FAQ table is one block (``data/loaders.py`` reads it).
Every failure is a ``BadInput`` naming the file and what is supported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..core.errors import BadInput
from .chunking import Block, piece_separator

QUESTION_COLUMNS = ("question", "q", "query", "title", "问题", "问", "标准问")
ANSWER_COLUMNS = ("answer", "a", "response", "reply", "答案", "答", "回答")
#: the most a .docx may unpack to (the sum of its zip members' sizes, past which Python's zipfile never reads):
#: a compressed document.xml of a few MB can hold GBs of text, which python-docx would load and parse whole
MAX_DOCX_UNPACKED_BYTES = 512 * 1024 * 1024
SUPPORTED_HINT = ("supported: Markdown (.md), text (.txt), HTML (.html), PDF (.pdf), Word (.docx), "
                  "and FAQ tables (.csv, .tsv, .jsonl, .json) with question and answer columns")


class EmptyDocument(BadInput):
    """A supported file with no text in it (an empty page, a scanned PDF)."""


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def _read_text_file(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise BadInput(f"{path}: looks like a binary file, not text", hint=SUPPORTED_HINT)
    for encoding in ("utf-8-sig", "gb18030"):  # Chinese text files are often GBK/GB18030
        try:
            return data.decode(encoding).replace("\r\n", "\n")
        except UnicodeDecodeError:
            continue
    raise BadInput(f"{path}: not UTF-8 or GB18030 text", hint="save the file as UTF-8")


def read_plain_text(path: Path) -> list[Block]:
    return [Block(p) for p in _paragraphs(_read_text_file(path))]


def read_markdown(path: Path) -> list[Block]:
    """Top-level blocks of the Markdown source (lists, tables and code kept as written) under their headings."""
    from markdown_it import MarkdownIt

    source = _read_text_file(path)
    lines = source.split("\n")
    tokens = MarkdownIt("commonmark").enable("table").parse(source)
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []
    for i, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        if token.type == "heading_open":
            level = int(token.tag[1])
            title = tokens[i + 1].content.strip()
            headings = [h for h in headings if h[0] < level] + [(level, title)]
            continue
        start, end = token.map
        text = "\n".join(lines[start:end]).strip()
        if text:
            blocks.append(Block(text, tuple(h[1] for h in headings)))
    return blocks


_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_HTML_BLOCKS = ("p", "li", "pre", "blockquote", "tr", "dt", "dd", "figcaption", "caption", "td", "th")


def read_html(path: Path) -> list[Block]:
    """Paragraph-like elements of the page under the headings before them; scripts, styles and navigation dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text_file(path), "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "head"]):
        tag.decompose()
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []
    for element in soup.find_all([*_HTML_HEADINGS, *_HTML_BLOCKS]):
        if element.find_parent([*_HTML_BLOCKS, *_HTML_HEADINGS]) is not None:
            continue  # its text is part of the enclosing block
        sep = " | " if element.name == "tr" else " "
        text = " ".join(element.get_text(sep, strip=True).split())
        if not text:
            continue
        if element.name in _HTML_HEADINGS:
            level = int(element.name[1])
            headings = [h for h in headings if h[0] < level] + [(level, text)]
        else:
            blocks.append(Block(text, tuple(h[1] for h in headings)))
    if not blocks and soup.get_text(strip=True):  # a page of bare text in <div>s: its lines
        blocks = [Block(p) for p in _paragraphs(soup.get_text("\n"))]
    return blocks


def _unwrap(paragraph: str) -> str:
    """PDF lines are hard-wrapped: join them, without a space between Chinese characters."""
    text = ""
    for line in paragraph.split("\n"):
        line = line.strip()
        if line:
            text = line if not text else text + piece_separator(text, line) + line
    return text


def read_pdf(path: Path) -> list[Block]:
    """The text of each page (pypdfium2, in a capped child process: ``core.pdf_guard``), paragraphs at blank
    lines, each block with its 1-based page."""
    from ..core.pdf_guard import pdf_text_pages

    blocks: list[Block] = []
    for index, text in enumerate(pdf_text_pages(path, shown=str(path)).texts):
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        blocks.extend(Block(_unwrap(p), page=index + 1) for p in _paragraphs(text))
    return blocks


def read_docx(path: Path) -> list[Block]:
    """Paragraphs and tables in body order; ``Heading N`` / ``Title`` styles make the section path."""
    import zipfile

    import docx
    from docx.opc.exceptions import OpcError
    from docx.table import Table

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise BadInput(f"{path}: not a readable Word .docx file ({exc})", hint=SUPPORTED_HINT) from None
    if unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise BadInput(f"{path}: unpacks to {unpacked / 2**20:,.0f} MiB, over the {MAX_DOCX_UNPACKED_BYTES / 2**20:,.0f} "
                       "MiB a Word file may hold here", hint="split the document, or save it as PDF")
    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError, OpcError) as exc:
        raise BadInput(f"{path}: not a readable Word .docx file ({exc})", hint=SUPPORTED_HINT) from None
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells = [c.text.strip() for c in row.cells]
                text = " | ".join(dict.fromkeys(c for c in cells if c))  # merged cells repeat their text
                if text:
                    blocks.append(Block(text, tuple(h[1] for h in headings)))
            continue
        text = item.text.strip()
        style = (item.style.name if item.style is not None else "") or ""
        level = 0 if style == "Title" else int(style[8:]) if re.fullmatch(r"Heading [1-9]", style) else None
        if text and level is not None:
            headings = [h for h in headings if h[0] < level] + [(level, text)]
        elif text:
            blocks.append(Block(text, tuple(h[1] for h in headings)))
    return blocks


def _pick_column(columns: list[str], wanted: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    return next((lowered[w] for w in wanted if w in lowered), None)


def read_faq(path: Path) -> list[Block]:
    """One block per question/answer row: ``question`` then ``answer`` on the next line."""
    from ..data.loaders import read_table

    rows = read_table(path)
    columns = list(rows[0][1].keys())
    question, answer = _pick_column(columns, QUESTION_COLUMNS), _pick_column(columns, ANSWER_COLUMNS)
    if question is None or answer is None:
        raise BadInput(f"{path}: a FAQ table needs a question and an answer column; found {columns}",
                       hint=f"name them one of {QUESTION_COLUMNS} and one of {ANSWER_COLUMNS}")
    blocks = []
    for _where, row in rows:
        q, a = str(row.get(question) or "").strip(), str(row.get(answer) or "").strip()
        if q or a:
            blocks.append(Block(f"{q}\n{a}".strip(), faq=True))
    return blocks


READERS: dict[str, tuple[str, Callable[[Path], list[Block]]]] = {
    ".md": ("markdown", read_markdown), ".markdown": ("markdown", read_markdown),
    ".txt": ("text", read_plain_text), ".text": ("text", read_plain_text),
    ".html": ("html", read_html), ".htm": ("html", read_html),
    ".pdf": ("pdf", read_pdf), ".docx": ("docx", read_docx),
    ".csv": ("faq", read_faq), ".tsv": ("faq", read_faq), ".jsonl": ("faq", read_faq),
    ".ndjson": ("faq", read_faq), ".json": ("faq", read_faq),
}


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in READERS


def read_document(path: Path) -> tuple[str, list[Block]]:
    """``(kind, blocks)`` of a file; ``BadInput`` if its type is not supported or it cannot be read."""
    entry = READERS.get(path.suffix.lower())
    if entry is None:
        raise BadInput(f"{path}: unsupported file type {path.suffix or '(no extension)'!r}", hint=SUPPORTED_HINT)
    kind, reader = entry
    try:
        blocks = reader(path)
    except BadInput:
        raise
    except (OSError, ValueError, UnicodeError) as exc:
        raise BadInput(f"{path}: cannot be read as {kind} ({type(exc).__name__}: {exc})", hint=SUPPORTED_HINT) from None
    if not blocks:
        raise EmptyDocument(f"{path}: no text found in this {kind} file",
                       hint="scanned PDFs need OCR first (`modelbay run ocr`)" if kind == "pdf" else SUPPORTED_HINT)
    return kind, blocks
