"""Triples from an instruction-tuned LLM (``modelbay.ml.llm``): a prompt, greedy decoding, a tolerant parser.

The model is asked for one JSON array ``["subject", "relation", "object"]`` a line, subjects and
objects copied from the text. The parser takes every such array in the reply and keeps a triple
only when its subject and object occur in the text (an LLM that invents an entity adds nothing);
offsets are those of their first occurrence.

>>> parse_triples('["Apple", "acquired", "Beats"]\\n["x", "y"]', "Apple acquired Beats in 2014")[0]["object_start"]
15
"""

from __future__ import annotations

import json
import re
from typing import Any

_ARRAY = re.compile(r"\[\s*\"(?:[^\"\\]|\\.)*\"(?:\s*,\s*\"(?:[^\"\\]|\\.)*\")*\s*\]")

SYSTEM_PROMPT = (
    "You extract a knowledge graph from text. List every fact the text states as a triple "
    "[\"subject\", \"relation\", \"object\"], one JSON array per line and nothing else. Copy subject and "
    "object exactly as they appear in the text (names of people, organisations, places, products). "
    "Write the relation as a short verb phrase in the language of the text.\n"
    "例：文本“马云创办了阿里巴巴。” → [\"马云\", \"创办\", \"阿里巴巴\"]"
)


def prompt(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": text}]


def parse_triples(reply: str, text: str) -> list[dict[str, Any]]:
    """Triples of the reply whose subject and object occur in ``text``, each once, with offsets."""
    out, seen = [], set()
    for match in _ARRAY.finditer(reply):
        try:
            parts = [str(p).strip() for p in json.loads(match.group())]
        except json.JSONDecodeError:
            continue
        if len(parts) != 3 or not all(parts):
            continue
        subject, relation, obj = parts
        s_at, o_at = text.find(subject), text.find(obj)
        if s_at < 0 or o_at < 0 or (subject, relation, obj) in seen or subject == obj:
            continue
        seen.add((subject, relation, obj))
        out.append({"subject": subject, "relation": relation, "object": obj,
                    "subject_start": s_at, "subject_end": s_at + len(subject),
                    "object_start": o_at, "object_end": o_at + len(obj),
                    "subject_label": None, "object_label": None, "sentence": _sentence(text, min(s_at, o_at))})
    return out


def _sentence(text: str, at: int) -> str:
    left = max(text.rfind(p, 0, at) for p in ".!?。！？\n") + 1
    rights = [i for i in (text.find(p, at) for p in ".!?。！？\n") if i >= 0]
    return text[left:(min(rights) + 1) if rights else len(text)].strip()


def llm_triples(model, texts: list[str], max_new_tokens: int = 384) -> list[list[dict[str, Any]]]:
    """Triples of each text from ``model`` (a ``LanguageModel``), generated as one batch."""
    from ...ml.llm import GenerationSettings

    settings = GenerationSettings(max_new_tokens=max_new_tokens, temperature=0.0)
    replies = model.complete_batch([prompt(t) for t in texts], [settings] * len(texts))
    return [parse_triples(reply.text, text) for reply, text in zip(replies, texts)]
