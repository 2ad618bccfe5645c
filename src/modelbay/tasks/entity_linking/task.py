"""Entity linking: which entry of the user's entity table (products, customers, places…) a mention means.

The model *is* the entity table. ``modelbay train entity-linking --data entities.csv --name products``
reads a table (columns ``id``, ``name``, ``aliases`` as ``a|b|c``, ``description``, ``type``), embeds
each entity with multilingual-e5-small and stores it as ``products@1``; ``modelbay run
entity-linking@products "…"`` links with it. The default model, ``entity-linking-countries``, is the
world's countries and regions from Unicode CLDR (English and Chinese names), built from Babel.

Mentions are given (``mentions``: spans or strings of the text) or found (``find``): ``table`` —
the table's names and aliases in the text (default); ``ner`` — PER/LOC/ORG of the NER model named by
the model's ``ner_model`` option (``ner-default``), loaded through the registry at run time;
``both``; ``text`` — the whole text is one mention (linking a bare name). See ``linker.py`` for
the scores and the NIL rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ...core.errors import BadInput
from ...core.protocols import Evaluable, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput


class MentionSpan(BaseModel):
    start: int = Field(..., ge=0, description="character offset of the mention's first character")
    end: int = Field(..., gt=0, description="character offset after its last character (exclusive)")


class LinkingInput(TaskInput):
    text: str = Field(..., min_length=1, max_length=100_000, description="text whose mentions to link")
    mentions: list[MentionSpan | str] | None = Field(
        None, description="mentions to link: {start, end} spans or strings of the text; absent: found as `find` says")
    find: Literal["table", "ner", "both", "text"] = Field(
        "table", description="how mentions are found when none are given: table names, NER, both, or the whole text")
    threshold: float | None = Field(None, ge=0, le=1, description="NIL below this score (default: the model's)")
    top_k: int = Field(3, ge=1, le=20, description="candidates listed per mention")


class Candidate(BaseModel):
    id: str
    name: str
    type: str = ""
    score: float


class Link(BaseModel):
    text: str = Field(..., description="the mention as it appears in the text")
    start: int
    end: int
    entity_id: str | None = Field(..., description="the linked entity's id; null: NIL (no entity of the table)")
    name: str | None = Field(None, description="the linked entity's name")
    type: str | None = Field(None, description="the linked entity's type, where the table gives one")
    score: float = Field(..., description="score of the best candidate, 0..1")
    candidates: list[Candidate] = Field(..., description="the best candidates, best first")


class LinkingOutput(TaskOutput):
    links: list[Link] = Field(..., description="one per mention, in order of position")

    def summary(self) -> str:
        return ", ".join(f"{k.text}→{k.entity_id or 'NIL'}" for k in self.links) or "(no mentions)"


def _spans(item: LinkingInput) -> list[tuple[int, int]] | None:
    """The item's given mentions as spans (strings are found in the text, left to right); None if none given."""
    if item.mentions is None:
        return None
    spans, cursor = [], {}
    for mention in item.mentions:
        if isinstance(mention, str):
            at = item.text.find(mention, cursor.get(mention, 0))
            if not mention or at < 0:
                raise BadInput(f"mention {mention!r} is not in the text", hint="give mentions that occur in `text`")
            cursor[mention] = at + len(mention)
            spans.append((at, at + len(mention)))
        else:
            if mention.end > len(item.text) or mention.start >= mention.end:
                raise BadInput(f"mention span {mention.start}..{mention.end} is outside the text of {len(item.text)} "
                               "characters", hint="start < end <= len(text); end is exclusive")
            spans.append((mention.start, mention.end))
    return sorted(spans)


@register
class EntityLinking(Task[LinkingInput, LinkingOutput], Trainable, Evaluable):
    name = "entity-linking"
    aliases = ("el", "entity-resolution", "link-entities")
    description = "Link mentions in English and Chinese text to your entity table (fuzzy names + embeddings; NIL)"
    Input = LinkingInput
    Output = LinkingOutput
    default_model = "entity-linking-countries"
    primary_field = "text"
    example_inputs = ("Flights from Germany to 日本 are cheaper than to the United States.",
                      {"text": "德国", "find": "text"},
                      {"text": "I moved from Frnace to Brasil", "mentions": ["Frnace", "Brasil"]})
    metric_family = "classification"
    target_field = "entity_id"

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Records ``{"text", "entity_id"}`` (``NIL`` or empty: no entity) from a table; ``start``/``end``
        columns make the mention a span of the text, else the whole text is the mention."""
        from .evaluation import read_linking_records

        return read_linking_records(path, options.get("format"))

    def prediction(self, output: LinkingOutput) -> str:
        """The first mention's entity id, ``NIL`` when it links to nothing or no mention was found."""
        return (output.links[0].entity_id if output.links else None) or "NIL"

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """Store an entity table as a model: ``options`` are ``LinkerConfig`` fields (``embedder`` — a catalog
        embeddings model or ``none``; ``nil_threshold``, ``temperature``…) and ``format``."""
        from .train import train_entity_table

        return train_entity_table(Path(data), out_dir, dict(options), name=name, task=cls.name, progress=progress)

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        from .train import load_linker

        self.linker = load_linker(Path(model.path), model.spec.options, device)
        self.ner_model = model.spec.options.get("ner_model", "ner-default")
        self._ner = None

    def _ner_spans(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        if self._ner is None:
            from ...core.loading import load_task

            self._ner = load_task("ner", self.ner_model, self.device)
        outputs = self._ner([self._ner.coerce(t) for t in texts])
        return [[(e.start, e.end) for e in out.entities if e.label in ("PER", "LOC", "ORG", "GPE")] for out in outputs]

    def _forward(self, batch: list[LinkingInput]):
        spans = [_spans(item) for item in batch]
        need_ner = [i for i, item in enumerate(batch) if spans[i] is None and item.find in ("ner", "both")]
        found = dict(zip(need_ner, self._ner_spans([batch[i].text for i in need_ner]))) if need_ner else {}
        for i, item in enumerate(batch):
            if spans[i] is not None:
                continue
            if item.find == "text":
                spans[i] = [(0, len(item.text))]
                continue
            chosen = found.get(i, []) + (self.linker.find_mentions(item.text) if item.find != "ner" else [])
            spans[i] = _without_overlaps(chosen)
        return [self.linker.link(item.text, s, threshold=item.threshold, top_k=item.top_k)
                for item, s in zip(batch, spans)]

    def postprocess(self, raw, items):
        return [LinkingOutput(links=[Link(**link) for link in links]) for links in raw]


def _without_overlaps(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans in order of position; of two that overlap, the longer (then the earlier) stays."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(set(spans), key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(end <= a or start >= b for a, b in kept):
            kept.append((start, end))
    return sorted(kept)
