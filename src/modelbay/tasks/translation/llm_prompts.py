"""Translation by an instruction-tuned LLM: the request for one piece of text, and the reply cleaned.

The instruction is written in the source text's language (a small model follows an
instruction in the language it is reading more reliably), and asks for the translation only.
"""

from __future__ import annotations

import re

LANGUAGE_NAMES = {"en": ("English", "英文"), "zh": ("Simplified Chinese", "中文")}

_SYSTEM = {
    "en": "You are a professional translator. Translate faithfully and fluently; output only the translation.",
    "zh": "你是一名专业翻译。请忠实、通顺地翻译，只输出译文。",
}
_ASK = {
    "en": "Translate the following {source} text into {target}. Output only the translation.\n\n{text}",
    "zh": "把下面的{source}文本翻译成{target}。只输出译文。\n\n{text}",
}
_LABEL = re.compile(r"^\s*(?:translation|english translation|chinese translation|译文|翻译|中文翻译|英文翻译)\s*[:：]\s*",
                    re.IGNORECASE)
_QUOTES = {'"': '"', "“": "”", "「": "」", "'": "'"}


def translation_messages(text: str, source_lang: str, target_lang: str) -> list[dict[str, str]]:
    """Chat messages asking for ``text`` in ``target_lang``; the instruction is in ``source_lang``.

    >>> translation_messages("你好", "zh", "en")[1]["content"].splitlines()[0]
    '把下面的中文文本翻译成英文。只输出译文。'
    """
    names = 1 if source_lang == "zh" else 0  # names of the languages, in the instruction's language
    ask = _ASK[source_lang].format(source=LANGUAGE_NAMES[source_lang][names], target=LANGUAGE_NAMES[target_lang][names],
                                   text=text)
    return [{"role": "system", "content": _SYSTEM[source_lang]}, {"role": "user", "content": ask}]


def clean_translation(reply: str, source: str) -> str:
    """The reply without a "Translation:" label, and without quotes around it that the source did not have.

    >>> clean_translation('Translation: "Hello."', "你好。"), clean_translation("译文：你好。", "Hello.")
    ('Hello.', '你好。')
    """
    text = _LABEL.sub("", reply.strip(), count=1).strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1] and source.strip()[:1] != text[0]:
        text = text[1:-1].strip()
    return text


__all__ = ["LANGUAGE_NAMES", "clean_translation", "translation_messages"]
