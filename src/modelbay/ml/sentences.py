"""Sentences of English and Chinese text, and sentences packed into pieces of bounded size.

English goes through pysbd (rule-based: "Mr.", "U.S.", "$3.50" and "e.g." end no sentence).
Chinese sentences end at 。！？ (and ！？ in their ASCII forms, ……, ；), with the closing quotes or
brackets that follow kept on the sentence they close; pysbd's Chinese rules cut “好的。”他说
after the full stop, leaving the quote on the next sentence. Line breaks always end a sentence.

>>> split_sentences("Mr. Smith paid $3.50. It came on Jan. 5th!")
['Mr. Smith paid $3.50.', 'It came on Jan. 5th!']
>>> split_sentences("“好的。”他说。我们走吧！")
['“好的。”', '他说。', '我们走吧！']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from .language_id import detect_language

#: a Chinese sentence: text up to an end mark, with the closing quotes/brackets right after it
_ZH_SENTENCE = re.compile(r"[^。！？!?；;…\n]*(?:[。！？!?；;]+|…+|\n|$)[”’」』）)】》\"']*")


@functools.cache
def _english_segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Sentences of ``text``, stripped, in order; ``language`` "en" or "zh" (detected when None).

    >>> split_sentences("One.\\nTwo")
    ['One.', 'Two']
    """
    language = language or detect_language(text)
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        pieces = _ZH_SENTENCE.findall(line) if language == "zh" else _english_segmenter().segment(line)
        out.extend(p.strip() for p in pieces if p.strip())
    return out


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
