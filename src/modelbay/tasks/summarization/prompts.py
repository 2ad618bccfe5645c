"""Abstractive summaries: the prompt, in the text's own language, and the reply cleaned of chatter.

A model asked in English to summarise a Chinese text tends to answer in English; asked in
Chinese, it answers in Chinese. So the instruction is written in the text's language.
"""

from __future__ import annotations

import re

_SYSTEM = {
    "en": ("You are a careful editor. Summarize the user's text faithfully: keep its key facts and add "
           "nothing that is not in it. Answer with the summary only."),
    "zh": "你是一名严谨的编辑。请忠实地概括用户给出的文本：保留关键信息，不添加原文没有的内容。只输出摘要。",
}
_ASK = {
    "en": "Summarize the following text in {length}.\n\nText:\n{text}",
    "zh": "请用{length}概括下面的文本。\n\n文本：\n{text}",
}
#: openings a small model puts before the summary itself ("Summary:", "Here is a summary of the text:", "摘要：")
_PREAMBLE = re.compile(r"^\s*(?:(?:here is|here's) (?:a |the )?(?:brief |short )?summary[^:\n]*:|summary\s*:|摘要\s*[:：]|总结\s*[:：]|概括\s*[:：])\s*",
                       re.IGNORECASE)


def length_phrase(language: str, sentences: int | None, words: int | None) -> str:
    """How long the summary should be, in the prompt's language.

    >>> length_phrase("en", 2, None), length_phrase("zh", None, 120)
    ('about 2 sentences', '大约120个字')
    """
    if sentences is not None:
        return f"大约{sentences}句话" if language == "zh" else f"about {sentences} sentence{'s' * (sentences != 1)}"
    return f"大约{words}个字" if language == "zh" else f"about {words} words"


def summary_messages(text: str, language: str, length: str) -> list[dict[str, str]]:
    """The chat messages asking for a summary of ``text`` of ``length`` (see :func:`length_phrase`).

    >>> summary_messages("Some text.", "en", "about 1 sentence")[1]["content"].splitlines()[0]
    'Summarize the following text in about 1 sentence.'
    """
    return [{"role": "system", "content": _SYSTEM[language]},
            {"role": "user", "content": _ASK[language].format(length=length, text=text)}]


def clean_summary(reply: str) -> str:
    """The reply without a leading "Summary:" and surrounding whitespace.

    >>> clean_summary("Here is a summary of the text:\\n The cat sat. "), clean_summary("摘要：猫坐着。")
    ('The cat sat.', '猫坐着。')
    """
    return _PREAMBLE.sub("", reply.strip(), count=1).strip()


__all__ = ["clean_summary", "length_phrase", "summary_messages"]
