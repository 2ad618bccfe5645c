"""Which of modelbay's text languages (English, Chinese) a text is in, from the scripts it is written in.

English and Chinese do not share a script, so counting Han characters against Latin letters
tells them apart on texts of any length (a product name, a one-word query) with no model; a
statistical detector (langid, lingua) would add a dependency and still misjudge a two-word text.
A Chinese text with English brand names stays Chinese: one Han character weighs as much as an
English word (~5 letters). Kana and Hangul are named so the caller can say they are unsupported.

>>> detect_language("Where is my parcel?"), detect_language("我的包裹在哪里？"), detect_language("我喜欢 iPhone 15")
('en', 'zh', 'zh')
"""

from __future__ import annotations

import re
from typing import Literal

from ..core.errors import BadInput

Language = Literal["en", "zh", "ja", "ko", "unknown"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
#: Latin letters that weigh as much as one Han character (an English word is ~5 letters, a Chinese word ~1.5 characters)
LETTERS_PER_HAN = 4


def script_counts(text: str) -> dict[str, int]:
    """How many Han, kana, Hangul and Latin characters ``text`` has.

    >>> script_counts("Hi 你好")
    {'han': 2, 'kana': 0, 'hangul': 0, 'latin': 2}
    """
    return {"han": len(_HAN.findall(text)), "kana": len(_KANA.findall(text)),
            "hangul": len(_HANGUL.findall(text)), "latin": len(_LATIN.findall(text))}


def detect_language(text: str) -> Language:
    """``"zh"``, ``"en"``, ``"ja"``, ``"ko"`` or ``"unknown"`` (no letters at all: digits, emoji, punctuation).

    Latin script is taken as English: modelbay's text capabilities speak English and Chinese.

    >>> detect_language("The word 你好 means hello"), detect_language("12345 !!!")
    ('en', 'unknown')
    """
    counts = script_counts(text)
    if counts["kana"] and counts["kana"] * 4 >= counts["han"]:  # Japanese mixes kana into Han text
        return "ja"
    if counts["hangul"] > counts["han"] and counts["hangul"] * LETTERS_PER_HAN >= counts["latin"]:
        return "ko"
    if counts["han"] and counts["han"] * LETTERS_PER_HAN >= counts["latin"]:
        return "zh"
    if counts["latin"]:
        return "en"
    return "zh" if counts["han"] else "unknown"


def supported_language(text: str, supported: tuple[str, ...] = ("en", "zh"), *, field: str = "language") -> str:
    """The detected language of ``text`` when it is one of ``supported``; otherwise :class:`BadInput` saying so.

    >>> supported_language("退款需要几天？")
    'zh'
    """
    found = detect_language(text)
    if found not in supported:
        what = "no letters to go by" if found == "unknown" else f"it looks like {found!r}"
        raise BadInput(f"could not tell the text's language ({what}); supported: {', '.join(supported)}",
                       hint=f"set {field} to one of {', '.join(supported)}")
    return found


__all__ = ["LETTERS_PER_HAN", "Language", "detect_language", "script_counts", "supported_language"]
