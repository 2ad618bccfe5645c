"""Structure-aware chunking: sections, paragraphs and sentence ends, in English and Chinese.

Readers turn a file into :class:`Block` s (one paragraph, list, table or FAQ pair each, with the
heading path it sits under and its PDF page). :func:`chunk_blocks` packs the paragraphs of one
section into chunks of at most ``max_chars`` characters (characters, not words: Chinese has no
spaces), each paragraph on a line of its own (a title line stays apart from its text), splits a paragraph that is too long at sentence ends (``ml.sentences.split_sentences``:
``。！？；…`` with any closing quotes, and English sentences by pysbd, so "Mr." and "U.S." end
none), and starts each chunk of a section with the last sentences of the chunk before
it (``overlap_chars``), so an answer that straddles a boundary is whole in one of them. A FAQ
pair is always one chunk of its own.

>>> blocks = [Block("退货政策。收到商品七天内可以退货！", ("售后",))]
>>> [(c.section, c.text) for c in chunk_blocks(blocks, max_chars=12, overlap_chars=0)]
[('售后', '退货政策。'), ('售后', '收到商品七天内可以退货！')]
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ml.sentences import split_sentences

SECTION_SEPARATOR = " > "


@dataclass(frozen=True)
class Block:
    """One paragraph-like unit of a document, as a reader found it."""

    text: str
    section: tuple[str, ...] = ()
    page: int | None = None
    faq: bool = False  # a question/answer pair: always one chunk of its own

    @property
    def section_title(self) -> str | None:
        return SECTION_SEPARATOR.join(self.section) or None


@dataclass
class ChunkDraft:
    """A chunk before it is stored: its text, heading path (``"A > B"``), page and position."""

    text: str
    section: str | None
    page: int | None
    position: int = 0


def piece_separator(left: str, right: str) -> str:
    """No space between two CJK pieces, a space elsewhere."""
    if left and right and _is_cjk(left[-1]) and _is_cjk(right[0]):
        return ""
    return " "


def _is_cjk(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uf900" <= char <= "\uffef" or "\U00020000" <= char <= "\U0002fa1f"


def _hard_split(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than a chunk, cut at spaces where it has them, else every ``max_chars``."""
    pieces, rest = [], sentence
    while len(rest) > max_chars:
        cut = rest.rfind(" ", max_chars // 2, max_chars + 1)
        cut = cut if cut > 0 else max_chars
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


@dataclass(frozen=True)
class _Unit:
    """A whole paragraph, or one sentence (or piece) of a paragraph too long for a chunk."""

    text: str
    opens_paragraph: bool


def _units(text: str, max_chars: int) -> list[_Unit]:
    """A paragraph as one unit if it fits, else its sentences (each cut to fit)."""
    if len(text) <= max_chars:
        return [_Unit(text, True)]
    pieces: list[str] = []
    for sentence in split_sentences(text):
        pieces.extend(_hard_split(sentence, max_chars) if len(sentence) > max_chars else [sentence])
    return [_Unit(piece, i == 0) for i, piece in enumerate(pieces)]


def _overlap(parts: list[_Unit], overlap_chars: int) -> list[_Unit]:
    """The trailing sentences of a chunk that fit in ``overlap_chars`` (its tail characters if none does)."""
    if overlap_chars <= 0 or not parts:
        return []
    sentences = split_sentences(parts[-1].text)
    kept: list[str] = []
    size = 0
    for sentence in reversed(sentences):
        if size + len(sentence) > overlap_chars:
            break
        kept.insert(0, sentence)
        size += len(sentence) + 1
    if kept and len(kept) == len(sentences) and len(parts) == 1:
        return []  # the whole chunk would repeat: nothing new is carried
    if not kept:
        return [_Unit(parts[-1].text[-overlap_chars:].lstrip(), True)]
    return [_Unit(_join([_Unit(k, False) for k in kept]), True)]


def _join(parts: list[_Unit]) -> str:
    """The units as one text: paragraphs on lines of their own, sentences of one paragraph run on."""
    text = parts[0].text if parts else ""
    for part in parts[1:]:
        text = text + ("\n" if part.opens_paragraph else piece_separator(text, part.text)) + part.text
    return text


def _pack(units: list[_Unit], section: str | None, page: int | None, max_chars: int,
          overlap_chars: int) -> list[ChunkDraft]:
    """Greedy packing of one section's units into chunks, each new chunk opening with an overlap."""
    chunks: list[ChunkDraft] = []
    parts: list[_Unit] = []
    fresh = False  # whether ``parts`` holds anything besides the carried overlap
    for unit in units:
        if parts and fresh and len(_join([*parts, unit])) > max_chars:
            chunks.append(ChunkDraft(_join(parts), section, page))
            parts = _overlap(parts, overlap_chars)
            fresh = False
            if parts and len(_join([*parts, unit])) > max_chars:
                parts = []
        parts.append(unit)
        fresh = True
    if parts and fresh:
        chunks.append(ChunkDraft(_join(parts), section, page))
    return chunks


def chunk_blocks(blocks: list[Block], *, max_chars: int = 600, overlap_chars: int = 100) -> list[ChunkDraft]:
    """Chunks of a document's blocks, numbered in order; sections and pages are never mixed in one chunk."""
    if max_chars < 10:
        raise ValueError(f"max_chars must be at least 10, got {max_chars}")
    if not 0 <= overlap_chars < max_chars:
        raise ValueError(f"overlap_chars must be in [0, max_chars), got {overlap_chars}")
    chunks: list[ChunkDraft] = []
    group: list[Block] = []

    def flush() -> None:
        if group:
            units = [u for b in group for u in _units(b.text, max_chars)]
            chunks.extend(_pack(units, group[0].section_title, group[0].page, max_chars, overlap_chars))
            group.clear()

    for block in blocks:
        text = block.text.strip()
        if not text:
            continue
        if block.faq:
            flush()
            chunks.append(ChunkDraft(text, block.section_title, block.page))
            continue
        if group and (group[0].section, group[0].page) != (block.section, block.page):
            flush()
        group.append(Block(text, block.section, block.page))
    flush()
    for position, chunk in enumerate(chunks):
        chunk.position = position
    return chunks
