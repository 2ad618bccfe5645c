"""What the assistant takes and gives: its request item, its answer and the sources the answer cites."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from ...core.task import TaskInput, TaskOutput

KB_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(..., max_length=8000)


class AssistantInput(TaskInput):
    question: str = Field(..., min_length=1, max_length=4000, description="the customer's message")
    kb: str = Field(..., pattern=KB_NAME_PATTERN, description="knowledge base to answer from (`modelbay kb ls`)")
    conversation_id: str | None = Field(
        None, max_length=64, description="continue this conversation (its earlier turns resolve follow-ups); "
        "omit to start a new one, whose id the answer returns")
    history: list[Turn] | None = Field(
        None, max_length=20, description="earlier turns, oldest first, when the client keeps the conversation "
        "(as OpenAI clients do); replaces the stored turns of conversation_id")
    top_k: int = Field(3, ge=1, le=10, description="passages retrieved and given to the model")
    rerank: str | None = Field(None, max_length=200, description="catalog reranker (task rerank) that reorders the "
                               "retrieved passages before the best top_k are used; omit for hybrid order")
    key_sentences: int = Field(
        2, ge=0, le=5, description="sentences of the passages that bear most on the question, listed to the model "
        "next to it (a small model then picks the right fact more often); 0: none")
    generate: bool = Field(True, description="false: answer with the best passage's sentences, no LLM")
    language: Literal["auto", "en", "zh"] = Field("auto", description="answer language; auto: the question's")
    min_confidence: float | None = Field(
        None, ge=0.0, le=1.0, description="retrieval confidence below which it hands off (default: the knowledge base's, 0.85 "
        "unless set by `modelbay kb create --threshold`)")
    max_new_tokens: int | None = Field(None, ge=1, le=1024, validate_default=True,
                                       description="longest generated answer, in tokens (default 192)")

    @field_validator("max_new_tokens", mode="before")
    @classmethod
    def _within_server_limit(cls, value):
        from ...core.settings import new_tokens_within_limit

        return new_tokens_within_limit(value, 192)


class Source(BaseModel):
    number: int = Field(..., description="the [n] the answer cites it by")
    document: str = Field(..., description="the document's file name")
    path: str = Field(..., description="the document as stored in the knowledge base (`modelbay kb ls`)")
    section: str | None = Field(None, description="heading path of the passage")
    page: int | None = Field(None, description="PDF page, from 1")
    chunk: int = Field(..., description="position of the passage in its document, from 0")
    score: float = Field(..., description="retrieval score (reciprocal rank fusion of BM25 and dense)")
    cited: bool = Field(..., description="whether the answer uses it")
    text: str


class AssistantOutput(TaskOutput):
    answer: str
    mode: Literal["generated", "extractive", "handoff"] = Field(
        ..., description="generated: by the LLM from the passages; extractive: the passages' own sentences; "
        "handoff: nothing relevant was found, a person should answer")
    handoff: bool = Field(..., description="true when the question should go to a person")
    language: Literal["en", "zh"]
    confidence: float = Field(..., description="retrieval confidence of the best passage, 0-1")
    conversation_id: str
    standalone_question: str = Field(..., description="the question as searched (follow-ups rewritten)")
    note: str | None = Field(None, description="why the mode is not 'generated', when it is not")
    sources: list[Source] = Field(default_factory=list, description="the passages retrieved, best first")

    def summary(self) -> str:
        cited = ", ".join(f"[{s.number}] {s.document}" for s in self.sources if s.cited)
        return f"{self.answer}\n  ({self.mode}{'; sources: ' + cited if cited else ''})"
