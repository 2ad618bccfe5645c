"""Relation extraction: (subject, relation, object) triples from English and Chinese text, as a knowledge graph.

Two ways to extract (``method``):

* ``patterns`` — English: spaCy dependency patterns over en_core_web_sm's parse
  (``patterns_en.py``); Chinese: clause rules over jieba part-of-speech tags (``patterns_zh.py``).
* ``llm`` — an instruction-tuned LLM through ``modelbay.ml.llm`` (``llm_triples.py``), the model
  named by the spec's ``llm`` option.
* ``auto`` (default) — ``llm`` when the model spec names one, else ``patterns``.

Each output carries its triples and the graph they make (entities deduplicated into nodes; see
``graph.py``), and with ``export`` the graph as JSON, CSV, GraphML or a standalone HTML page.
With ``link_model`` (an entity-linking model, e.g. ``entity-linking@products``) subjects and objects
are linked to that table, and linked ones become one node per entity id.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ...core.errors import BadInput
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput


class RelationInput(TaskInput):
    text: str = Field(..., min_length=1, max_length=100_000, description="text to extract facts from")
    language: Literal["en", "zh"] | None = Field(None, description="absent: Chinese if mostly Han characters")
    method: Literal["auto", "patterns", "llm"] = Field("auto", description="how to extract (see the task's doc)")
    link_model: str | None = Field(None, description="an entity-linking model to link subjects and objects to")
    export: Literal["json", "csv", "graphml", "html"] | None = Field(None, description="also return the graph as text")


class Triple(BaseModel):
    subject: str
    relation: str
    object: str
    subject_start: int | None = None
    subject_end: int | None = None
    object_start: int | None = None
    object_end: int | None = None
    subject_label: str | None = Field(None, description="PER/LOC/ORG… where known")
    object_label: str | None = None
    subject_id: str | None = Field(None, description="linked entity id (with link_model)")
    object_id: str | None = None
    subject_name: str | None = Field(None, description="linked entity's name (with link_model)")
    object_name: str | None = None
    sentence: str = ""


class GraphNode(BaseModel):
    id: str
    name: str
    type: str = ""
    entity_id: str = ""
    mentions: int


class GraphEdge(BaseModel):
    source: str
    target: str
    relation: str
    sentence: str = ""


class RelationOutput(TaskOutput):
    triples: list[Triple]
    nodes: list[GraphNode] = Field(..., description="entities, deduplicated")
    edges: list[GraphEdge] = Field(..., description="relations between nodes")
    method: str = Field(..., description="patterns or llm: what extracted these triples")
    document: str | None = Field(None, description="the graph in the requested export format")

    def summary(self) -> str:
        return "; ".join(f"({t.subject}, {t.relation}, {t.object})" for t in self.triples) or "(no triples)"


def _language(text: str) -> str:
    """``zh`` when the text has at least one Han character per four Latin letters (as the NER task decides)."""
    han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    return "zh" if han and han * 4 >= latin else "en"


#: pieces end at Chinese full stops, newlines, and Latin ones followed by a Han character; spaCy splits the
#: English pieces further itself ("Mr. Smith" stays whole)
_SENTENCE = re.compile(r".+?(?:[。！？]+|[.!?](?=\s*[\u4e00-\u9fff])|\n|$)", re.DOTALL)


def _sentences(text: str) -> list[tuple[int, str]]:
    """``(offset, sentence)`` pieces of the text, blank ones dropped."""
    return [(m.start(), m.group()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def _shifted(triple: dict[str, Any], offset: int) -> dict[str, Any]:
    keys = ("subject_start", "subject_end", "object_start", "object_end")
    return {**triple, **{k: triple[k] + offset for k in keys if triple.get(k) is not None}}


@register
class RelationExtraction(Task[RelationInput, RelationOutput]):
    name = "relation-extraction"
    aliases = ("relations", "triples", "knowledge-graph")
    description = "Extract (subject, relation, object) triples from English and Chinese text into a knowledge graph"
    Input = RelationInput
    Output = RelationOutput
    default_model = "relation-extraction-patterns"
    primary_field = "text"
    example_inputs = ("Steve Jobs and Steve Wozniak founded Apple in California.", "华为总部位于深圳。",
                      {"text": "Microsoft acquired GitHub in 2018.", "export": "csv"})

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        self.model_path = Path(model.path)
        self.llm_name = model.spec.options.get("llm")
        self._nlp = None
        self._linkers: dict[str, Task] = {}

    def _english(self, texts: list[str]) -> list[list[dict[str, Any]]]:
        from .patterns_en import load_english, triples_from_doc

        if self._nlp is None:
            self._nlp = load_english(self.model_path)
        return [triples_from_doc(doc) for doc in self._nlp.pipe(texts)]

    def _patterns(self, items: list[RelationInput]) -> list[list[dict[str, Any]]]:
        """Each sentence by its own language's rules (a text may mix English and Chinese sentences)."""
        from .patterns_zh import chinese_triples

        segments = [(i, start, sentence, item.language or _language(sentence))
                    for i, item in enumerate(items) for start, sentence in _sentences(item.text)]
        english = [seg for seg in segments if seg[3] == "en"]
        found = dict(zip([id(seg) for seg in english], self._english([seg[2] for seg in english]) if english else []))
        out: list[list[dict[str, Any]]] = [[] for _ in items]
        for seg in segments:
            i, start, sentence, language = seg
            triples = found[id(seg)] if language == "en" else chinese_triples(sentence)
            out[i].extend(_shifted(t, start) for t in triples)
        return out

    def _llm(self, items: list[RelationInput]) -> list[list[dict[str, Any]]]:
        from ...ml.llm import language_model
        from .llm_triples import llm_triples

        if not self.llm_name:
            raise BadInput(f"model {self.model.spec.name!r} names no LLM, so method=llm is unavailable",
                           hint="use method=patterns, or a relation-extraction model whose spec sets options.llm")
        name = None if self.llm_name == "default" else self.llm_name  # "default": the project's default LLM
        return llm_triples(language_model(name, self.device), [item.text for item in items])

    def _forward(self, batch: list[RelationInput]):
        use_llm = [item.method == "llm" or (item.method == "auto" and bool(self.llm_name)) for item in batch]
        results: list[list[dict[str, Any]]] = [[] for _ in batch]
        for flag, run in ((True, self._llm), (False, self._patterns)):
            idx = [i for i, u in enumerate(use_llm) if u == flag]
            for i, triples in zip(idx, run([batch[i] for i in idx]) if idx else []):
                results[i] = triples
        for item, triples in zip(batch, results):
            if item.link_model and triples:
                if item.link_model not in self._linkers:
                    from ...core.loading import load_task

                    self._linkers[item.link_model] = load_task("entity-linking", item.link_model, self.device)
                _link(self._linkers[item.link_model], item.text, triples)
        return [(triples, "llm" if flag else "patterns") for triples, flag in zip(results, use_llm)]

    def postprocess(self, raw, items):
        from .graph import build_graph, export_graph, graph_json

        outputs = []
        for (triples, method), item in zip(raw, items):
            graph = build_graph(triples)
            shaped = graph_json(graph)
            outputs.append(RelationOutput(triples=[Triple(**t) for t in triples], nodes=shaped["nodes"],
                                          edges=shaped["edges"], method=method,
                                          document=export_graph(graph, item.export) if item.export else None))
        return outputs


def _link(linker: Task, text: str, triples: list[dict[str, Any]]) -> None:
    """Link each triple's subject and object with an entity-linking task (loaded through the registry)."""
    spans = sorted({(t[f"{side}_start"], t[f"{side}_end"]) for t in triples for side in ("subject", "object")
                    if t.get(f"{side}_start") is not None})
    if not spans:
        return
    item = linker.coerce({"text": text, "mentions": [{"start": s, "end": e} for s, e in spans]})
    links = linker([item])[0].links
    by_span = {(k.start, k.end): k for k in links}
    for t in triples:
        for side in ("subject", "object"):
            link = by_span.get((t.get(f"{side}_start"), t.get(f"{side}_end")))
            if link is not None and link.entity_id:
                t[f"{side}_id"], t[f"{side}_name"] = link.entity_id, link.name
                t[f"{side}_label"] = t.get(f"{side}_label") or link.type
