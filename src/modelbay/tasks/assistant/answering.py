"""One answer: resolve a follow-up, retrieve, decide (generate, extract or hand off), check, cite, remember.

The decisions, in order:

1. nothing retrieved, or retrieval not confident (``KnowledgeBase.search``: the best passage's cosine
   below the threshold — the request's ``min_confidence``, else the knowledge base's — by more than
   a small margin when it shares a word with the question) -> hand off;
2. ``generate: false`` or no LLM installed -> extractive answer from the best passage;
3. the LLM answers from the passages; if it says it does not know -> hand off, unless retrieval is
   sure (``SURE_MARGIN`` above the threshold: a small LLM misses answers that are
   there), when the best passage answers; if its answer is not grounded in the passages
   (``grounding.grounded_share``) -> the extractive answer replaces it.

While streaming, the first characters are held back until it is clear the model is not saying
"I don't know", so a customer never sees a half-answer turn into a handoff; an answer that
fails the grounding check after streaming is followed by a marked correction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from ...core.errors import ModelUnavailable
from . import grounding, prompts
from .history import HISTORY_TURNS, check_conversation_id, conversations, new_conversation_id
from .schema import AssistantInput, AssistantOutput, Source

log = logging.getLogger(__name__)

#: how far above ``min_confidence`` retrieval must be for the best passage to answer when the LLM finds nothing
SURE_MARGIN = 0.05
#: characters held back at the start of a streamed answer to catch "I don't know" before it is shown
HOLDBACK_CHARS = 16
UNVERIFIED = {
    "en": "\n\n(The answer above could not be verified against the documents. What they say:)\n",
    "zh": "\n\n（以上回答未能在资料中核实。资料原文：）\n",
}


class Answerer:
    def __init__(self, options: dict[str, Any], device: str = "cpu") -> None:
        self.options = options
        self.device = device
        # the request's, else the model spec's, else the knowledge base's own threshold
        self.min_confidence = options.get("min_confidence")
        self.conversations = conversations()
        self._llm, self._llm_problem, self._llm_lock = None, None, threading.Lock()

    def language_model(self):
        """The LLM that writes answers, loaded on the first question that asks for one; None if not installed."""
        with self._llm_lock:
            if self._llm is None and self._llm_problem is None:
                try:
                    from ...ml.llm import language_model

                    self._llm = language_model(self.options.get("generator"), self.device)
                except ModelUnavailable as exc:  # answers stay extractive, and say why
                    self._llm_problem = (f"no LLM to generate with ({exc.message}); answered with the documents' "
                                         "own sentences")
                    log.warning("assistant: %s", self._llm_problem)
            return self._llm

    def answer(self, item: AssistantInput) -> Iterator[tuple[str, AssistantOutput | None]]:
        from .retrieval import retrieve

        language = prompts.detect_language(item.question) if item.language == "auto" else item.language
        conversation_id = check_conversation_id(item.conversation_id) if item.conversation_id else new_conversation_id()
        if item.history is not None:
            history = [turn.model_dump() for turn in item.history][-2 * HISTORY_TURNS:]
        else:
            history = self.conversations.history(conversation_id) if item.conversation_id else []
        query = self._standalone(item, history, language)
        wanted = item.min_confidence if item.min_confidence is not None else self.min_confidence
        passages, confidence, confident, threshold = retrieve(item.kb, query, item.top_k, wanted, item.rerank)
        base = {"language": language, "confidence": round(confidence, 4), "conversation_id": conversation_id,
                "standalone_question": query}
        if not passages or not confident:
            note = f"best retrieval confidence {confidence:.2f} is below {threshold:.2f}"
            events = self._handoff(passages, base, note)
        elif not item.generate or self.language_model() is None:
            note = "generation is off (generate: false)" if not item.generate else self._llm_problem
            events = self._extractive(query, passages, base, note)
        else:
            events = self._generated(item, query, passages, base, sure=threshold + SURE_MARGIN)
        output = None
        for piece, output in events:
            yield piece, output
        assert output is not None
        self.conversations.append(conversation_id, item.kb, item.question, output.answer, output.mode,
                                  [s.model_dump(exclude={"text"}) for s in output.sources if s.cited])

    def _standalone(self, item: AssistantInput, history: list[dict[str, str]], language: str) -> str:
        """The question made standalone with the conversation: by the LLM, or by prefixing the last question."""
        if not history:
            return item.question
        if item.generate and self.language_model() is not None:
            from ...ml.llm import GenerationSettings

            messages = prompts.rewrite_messages(item.question, history, language)
            rewritten = self._llm.complete(messages, GenerationSettings(max_new_tokens=64, stop=("\n",))).text.strip()
            answers = [m["content"] for m in history if m["role"] == "assistant"]
            # a small model sometimes repeats an earlier answer instead of a question: then the plain fallback
            if rewritten and not any(rewritten in a or a in rewritten for a in answers):
                return rewritten
        earlier = [m["content"] for m in history if m["role"] == "user"]
        return f"{earlier[-1]} {item.question}" if earlier else item.question

    def _handoff(self, passages, base: dict, note: str) -> Iterator[tuple[str, AssistantOutput]]:
        answer = prompts.HANDOFF[base["language"]]
        yield answer, AssistantOutput(answer=answer, mode="handoff", handoff=True, note=note,
                                      sources=_sources(passages, cited=()), **base)

    def _extractive(self, query: str, passages, base: dict, note: str | None) -> Iterator[tuple[str, AssistantOutput]]:
        answer = grounding.extractive_answer(query, passages[0].text)
        yield answer, AssistantOutput(answer=answer, mode="extractive", handoff=False, note=note,
                                      sources=_sources(passages, cited=(1,)), **base)

    def _generated(self, item: AssistantInput, query: str, passages, base: dict, sure: float):
        from ...ml.llm import GenerationSettings
        from .retrieval import key_sentences

        language = base["language"]
        keys = key_sentences(item.kb, query, passages, item.key_sentences)
        messages = prompts.grounded_messages(query, [p.text for p in passages], [p.heading for p in passages],
                                             language, key_sentences=keys)
        # the reply may repeat the passages' words (that is what grounded means); only its own repeats are loops
        settings = GenerationSettings(max_new_tokens=item.max_new_tokens, temperature=0.0,
                                      repetition_penalty=float(self.options.get("repetition_penalty", 1.1)),
                                      penalise_prompt=False)
        text, shown = "", 0
        for piece, final in self._llm.stream(messages, settings):
            text += piece
            if final is None and (shown or len(text) >= HOLDBACK_CHARS) and not grounding.says_dont_know(text):
                yield text[shown:], None
                shown = len(text)
        answer = text.strip()
        if grounding.says_dont_know(answer) and not shown:
            if base["confidence"] >= sure:  # retrieval is sure: show what the documents say
                yield from self._extractive(query, passages, base, "the model found no answer in the passages; "
                                            "retrieval is confident, so the best passage answers")
            else:
                yield from self._handoff(passages, base, "the model found no answer in the passages")
            return
        if grounding.grounded_share(answer, [p.text for p in passages]) < grounding.MIN_GROUNDED_SHARE:
            fallback = grounding.extractive_answer(query, passages[0].text)
            correction = (UNVERIFIED[language] + fallback) if shown else fallback
            yield correction, AssistantOutput(
                answer=fallback, mode="extractive", handoff=False, sources=_sources(passages, cited=(1,)),
                note="the generated answer was not supported by the passages; replaced by their own sentences",
                **base)
            return
        cited = grounding.cited_numbers(answer, len(passages)) or [grounding.best_supported(answer, [
            p.text for p in passages])]
        yield text[shown:], AssistantOutput(answer=answer, mode="generated", handoff=False,
                                            sources=_sources(passages, cited=cited), **base)


def _sources(passages, cited) -> list[Source]:
    return [Source(number=i, document=p.document, path=p.path, section=p.heading or None, page=p.page, chunk=p.chunk,
                   score=round(p.score, 4), cited=i in cited, text=p.text) for i, p in enumerate(passages, start=1)]
