"""Similar items: the ``k`` items most like a given one, from a recommendation model.

Cosine similarity of the items' learned factors (ALS, BPR), the item-kNN neighbours, or for a
popularity model the cosine of the items' user sets. An unknown item gets trending items, with
``strategy: "popular"`` and the reason (not an error).

>>> from modelbay import pipeline                                              # doctest: +SKIP
>>> out = pipeline("similar-items")(["260"])[0]                                # doctest: +SKIP
>>> out.items[0].attributes["title"]                                           # doctest: +SKIP
'Star Wars: Episode V - The Empire Strikes Back'
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput, json_item
from .task import MAX_K, Filters, RecommendedItem


class SimilarItemsInput(TaskInput):
    item_id: str = Field(..., min_length=1, max_length=200, description="the item to find neighbours of")
    k: int = Field(10, ge=1, le=MAX_K, description="how many items")
    filters: Filters | None = Field(None, description='keep items whose attribute has one of the values: {"genres": "Drama"}')

    @model_validator(mode="before")
    @classmethod
    def _json_item(cls, data: Any) -> Any:
        return json_item(data, "item_id")


class SimilarItemsOutput(TaskOutput):
    item_id: str
    items: list[RecommendedItem]
    strategy: str = Field(..., description="similar, or popular for an item the model does not know")
    reason: str

    def summary(self) -> str:
        shown = [i.attributes.get("title") or i.item_id for i in self.items[:5]]
        return f"{self.strategy} ({self.reason}): {', '.join(shown)}"


@register
class SimilarItems(Task[SimilarItemsInput, SimilarItemsOutput]):
    """Items like a given item, from a recommendation model."""

    name = "similar-items"
    aliases = ("item-similarity", "related-items")
    description = "Items similar to a given item (from a recommendation model's item factors or neighbours)"
    Input = SimilarItemsInput
    Output = SimilarItemsOutput
    default_model = "recommend-movielens"
    primary_field = "item_id"
    accepts_models_of = ("recommendation",)
    example_inputs = ("260", {"item_id": "1", "k": 3}, {"item_id": "296", "k": 5, "filters": {"genres": "Thriller"}})

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        from pathlib import Path

        from ...core.errors import ModelUnavailable
        from .model import CONFIG_FILE, read_recommendation_model
        from .scoring import Recommender

        if not model.path or not (Path(model.path) / CONFIG_FILE).is_file():
            raise ModelUnavailable(f"model {model.spec.name!r} is not a recommendation model (no {CONFIG_FILE})",
                                   hint="use a model trained with `modelbay train recommendation`")
        self.recommender = Recommender(read_recommendation_model(model.path))

    def _forward(self, items: list[SimilarItemsInput]):
        return [self.recommender.similar(item.item_id, item.k, item.filters) for item in items]

    def postprocess(self, raw, items: list[SimilarItemsInput]) -> list[SimilarItemsOutput]:
        rec = self.recommender
        return [SimilarItemsOutput(item_id=item.item_id, strategy=r.strategy, reason=r.reason,
                                   items=[RecommendedItem(item_id=rec.item_ids[i], score=round(s, 6),
                                                          attributes=rec.attributes_of(i)) for i, s in r.items])
                for r, item in zip(raw, items)]
