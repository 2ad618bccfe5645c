"""English <-> Chinese through the shared LLM (``modelbay.ml.llm``), greedy, many pieces in one batch."""

from __future__ import annotations

from ...core.errors import BadInput
from .llm_prompts import clean_translation, translation_messages

#: most source tokens per piece: a small LLM loses the thread (skips or repeats sentences) past a few hundred
MAX_PIECE_TOKENS = 300


class LLMTranslator:
    """Translates pieces of text with a :class:`~modelbay.ml.llm.LanguageModel`."""

    pairs = frozenset({("en", "zh"), ("zh", "en")})

    def __init__(self, llm_name: str | None, device: str = "cpu") -> None:
        from ...ml.llm import language_model

        self.lm = language_model(llm_name, device)
        overhead = self.lm.count_tokens(translation_messages("", "en", "zh"))
        self._turn_tokens = self.lm.count_tokens([{"role": "user", "content": ""}])  # the chat template's own tokens
        # the piece, its translation (up to twice its tokens) and the instruction must fit the context
        self.max_piece_tokens = max(16, min(MAX_PIECE_TOKENS, (self.lm.context_tokens - overhead - 32) // 3))

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` alone (the chat template's markup not counted)."""
        return max(1, self.lm.count_tokens([{"role": "user", "content": text}]) - self._turn_tokens)

    def check_pair(self, source_lang: str, target_lang: str) -> None:
        if (source_lang, target_lang) not in self.pairs:
            raise BadInput(f"the LLM translator translates en->zh and zh->en, not {source_lang}->{target_lang}",
                           hint="choose a Marian/NLLB model with --model for other languages")

    def translate_many(self, jobs: list[tuple[str, str, str]]) -> list[str]:
        """Translations of ``(piece, source_lang, target_lang)`` jobs, generated together."""
        from ...ml.llm import GenerationSettings

        conversations, settings = [], []
        for piece, source, target in jobs:
            self.check_pair(source, target)
            messages = translation_messages(piece, source, target)
            room = self.lm.context_tokens - self.lm.count_tokens(messages)
            conversations.append(messages)
            settings.append(GenerationSettings(max_new_tokens=max(1, min(2 * self.count_tokens(piece) + 16, room)),
                                               repetition_penalty=1.05))
        replies = self.lm.complete_batch(conversations, settings) if conversations else []
        return [clean_translation(r.text, job[0]) for r, job in zip(replies, jobs)]


__all__ = ["MAX_PIECE_TOKENS", "LLMTranslator"]
