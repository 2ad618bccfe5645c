"""Sentences of English and Chinese text, and sentences packed into pieces of bounded size.

English goes through pysbd (rule-based: "Mr.", "U.S.", "$3.50" and "e.g." end no sentence).
Chinese sentences end at 。！？ (and ！？ in their ASCII forms, ……, ；), with the closing quotes or
brackets that follow kept on the sentence they close; pysbd's Chinese rules cut “好的。”他说
after the full stop, leaving the quote on the next sentence. Line breaks always end a sentence.
Text of no stated language (a knowledge base's documents mix both) is cut at the Chinese ends
first, and each piece then by the English rules where a full stop and a space are in it. This is
the one sentence splitter of modelbay: chunking, the assistant's key sentences, summaries and
translation use it.

>>> split_sentences("Mr. Smith paid $3.50. It came on Jan. 5th!")
['Mr. Smith paid $3.50.', 'It came on Jan. 5th!']
>>> split_sentences("“好的。”他说。我们走吧！")
['“好的。”', '他说。', '我们走吧！']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

#: a Chinese sentence: text up to an end mark, with the closing quotes/brackets right after it
_ZH_SENTENCE = re.compile(r"[^。！？!?；;…\n]*(?:[。！？!?；;]+|…+|\n|$)[”’」』）)】》\"']*")
#: a full stop inside a piece, followed by a space: only then can pysbd find more than one sentence
_LATIN_END = re.compile(r"\.\S*\s+\S")


@functools.cache
def _english_segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Sentences of ``text``, stripped, in order; ``language`` "en", "zh", or None for mixed text.

    >>> split_sentences("One.\\nTwo")
    ['One.', 'Two']
    >>> split_sentences('他说：“好的。”然后走了。Is it ok? Mr. Li said yes. Pi is 3.14 now')
    ['他说：“好的。”', '然后走了。', 'Is it ok?', 'Mr. Li said yes.', 'Pi is 3.14 now']
    """
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if language == "en":
            pieces = _english_segmenter().segment(line)
        else:
            pieces = _ZH_SENTENCE.findall(line)
            if language is None:
                pieces = [p for piece in pieces for p in _english_pieces(piece)]
        out.extend(p.strip() for p in pieces if p.strip())
    return out


def _english_pieces(piece: str) -> list[str]:
    """A piece of mixed text cut by pysbd where a full stop and a space may end an English sentence in it.

    pysbd cuts "Dr. Wang visited the U.S. office. 他说：“好。”" after "office." only; a piece with no
    such full stop (all Chinese text) is kept as it is, unread by pysbd.
    """
    if not _LATIN_END.search(piece.rstrip()):
        return [piece]
    return _english_segmenter().segment(piece)


def join_sentences(sentences: list[str], language: str) -> str:
    """Sentences back into text: Chinese needs no space between them.

    >>> join_sentences(["你好。", "再见。"], "zh"), join_sentences(["Hi.", "Bye."], "en")
    ('你好。再见。', 'Hi. Bye.')
    """
    return ("" if language == "zh" else " ").join(sentences)


def pack_sentences(sentences: list[str], size: Callable[[str], int], max_size: int, language: str) -> list[str]:
    """Consecutive sentences joined into pieces whose ``size`` is at most ``max_size`` (a longer sentence alone).

    ``size`` measures a piece (characters, tokens): a model reads each piece within its context.

    >>> pack_sentences(["Aa.", "Bb.", "Cc."], len, 7, "en")
    ['Aa. Bb.', 'Cc.']
    """
    pieces: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        candidate = join_sentences([*current, sentence], language)
        if current and size(candidate) > max_size:
            pieces.append(join_sentences(current, language))
            current = [sentence]
        else:
            current.append(sentence)
    if current:
        pieces.append(join_sentences(current, language))
    return pieces


__all__ = ["join_sentences", "pack_sentences", "split_sentences"]
