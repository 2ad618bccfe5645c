"""Recommendation: the top ``k`` items for a user, from implicit feedback (views, clicks, purchases).

A model is trained on an interaction table (``modelbay train recommendation --data events.csv``:
ALS by default, or BPR, item-kNN, popularity). At run time a known user gets their personal
ranking; a user the model has never seen, or who has new events since training (``POST
/v1/events``, stored durably and read at once), is folded in from those items; a user with
nothing known gets the trending items, with ``strategy`` and ``reason`` saying so (never an error).
``exclude_seen`` drops what the user already interacted with, in the training data and the event
store; ``filters`` keep items whose attributes match (``{"genres": ["Comedy", "Drama"]}``).

>>> from modelbay import pipeline                                                  # doctest: +SKIP
>>> out = pipeline("recommendation")([{"user_id": "15", "k": 3}])[0]               # doctest: +SKIP
>>> out.strategy, [i.attributes["title"] for i in out.items]                       # doctest: +SKIP
('personal', ['Star Wars: Episode IV - A New Hope', 'Fargo', 'Pulp Fiction'])
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from ...core.errors import BadInput, ModelUnavailable
from ...core.protocols import Evaluable, RecordsEvents, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput, json_item

MAX_K = 1000
MAX_IDS = 10_000
Filters = dict[str, str | list[str]]


def as_id(value: Any) -> Any:
    """Ids in lists and events may come as numbers (MovieLens' 15); they are compared as strings.

    The ``user_id``/``item_id`` of a request must be strings (``"15"``): a number there is an error.
    """
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class RecommendInput(TaskInput):
    user_id: str | None = Field(None, min_length=1, max_length=200, description="the user (unknown or omitted: trending items)")
    k: int = Field(10, ge=1, le=MAX_K, description="how many items")
    exclude_seen: bool = Field(True, description="leave out items the user already interacted with (training data and events)")
    filters: Filters | None = Field(None, description='keep items whose attribute has one of the values: {"genres": ["Comedy"]}')
    history: list[str] = Field(default_factory=list, max_length=MAX_IDS,
                               description="item ids the user interacted with recently, besides the stored events")
    exclude_items: list[str] = Field(default_factory=list, max_length=MAX_IDS, description="item ids never to recommend")
    use_events: bool = Field(True, description="fold in the user's stored events (false: only the model and history; "
                                                "modelbay eval sets it, so live events cannot leak into a score)")
    liked_text: str | None = Field(None, min_length=1, max_length=2000,
                                   description="what a new user likes, in words: used when nothing they did is known "
                                               "(items ranked by text similarity, E5 embeddings)")

    @model_validator(mode="before")
    @classmethod
    def _json_item(cls, data: Any) -> Any:
        return json_item(data, "user_id")

    @field_validator("history", "exclude_items", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return [as_id(v) for v in value] if isinstance(value, list) else value


class RecommendedItem(BaseModel):
    item_id: str
    score: float = Field(..., description="the model's score (comparable within one answer only)")
    attributes: dict[str, str] = Field(default_factory=dict, description="the item's title, genres… from the training data")


class RecommendOutput(TaskOutput):
    user_id: str | None
    items: list[RecommendedItem]
    strategy: str = Field(..., description="personal (the user's factors), history (folded in from their items), "
                                           "content (nothing known; closest to liked_text), popular (nothing known)")
    reason: str = Field(..., description="why this strategy, in words")
    catalog_size: int = Field(..., description="items the model can recommend")

    def summary(self) -> str:
        shown = [i.attributes.get("title") or i.item_id for i in self.items[:5]]
        more = f", … ({len(self.items)})" if len(self.items) > 5 else ""
        return f"{self.strategy} ({self.reason}): {', '.join(shown)}{more}"


class Event(BaseModel):
    model_config = {"extra": "forbid"}

    user_id: str = Field(..., min_length=1, max_length=200)
    item_id: str = Field(..., min_length=1, max_length=200)
    event: str = Field("view", min_length=1, max_length=40, pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$",
                       description="view, click, add_to_cart, like, purchase, or your own type")
    weight: float | None = Field(None, gt=0, le=1e6, description="default: the event type's weight")
    timestamp: float | None = Field(None, ge=0, description="unix seconds; default: when the server received it")

    @field_validator("user_id", "item_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        return as_id(value)


def validate_events(events: list[Any], weights: dict[str, float]) -> list[dict[str, Any]]:
    """Rows for the event store; the first bad event is a ``BadInput`` naming its index and field."""
    if not isinstance(events, list) or not events:
        raise BadInput("events: send a non-empty list of {user_id, item_id, event}")
    now, rows = time.time(), []
    for i, raw in enumerate(events):
        try:
            e = Event.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise BadInput(f"events[{i}]{'.' + where if where else ''}: {err['msg']}",
                           hint="each event is {\"user_id\": …, \"item_id\": …, \"event\": \"view\"}; nothing was stored") from None
        rows.append({"user_id": e.user_id, "item_id": e.item_id, "event": e.event.lower(),
                     "weight": e.weight if e.weight is not None else float(weights.get(e.event.lower(), 1.0)),
                     "timestamp": e.timestamp if e.timestamp is not None else now})
    return rows


@register
class Recommendation(Task[RecommendInput, RecommendOutput], Trainable, Evaluable, RecordsEvents):
    """Top-k items per user from implicit feedback, with real-time events."""

    name = "recommendation"
    aliases = ("recommend", "recommender")
    description = "Recommend items to users from views/clicks/purchases (ALS, BPR, item-kNN); unknown users get trending items"
    Input = RecommendInput
    Output = RecommendOutput
    default_model = "recommend-movielens"
    primary_field = "user_id"
    metric_family = "recommendation"
    target_field = "relevant_items"
    example_inputs = ({"user_id": "15", "k": 5}, {"user_id": "a-new-user", "k": 3},
                      {"user_id": "15", "k": 3, "filters": {"genres": "Comedy"}}, "42")

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        from .data import EVENT_WEIGHTS
        from .model import CONFIG_FILE, read_recommendation_model
        from .scoring import Recommender

        if not model.path or not (Path(model.path) / CONFIG_FILE).is_file():
            raise ModelUnavailable(f"model {model.spec.name!r} has no {CONFIG_FILE} at {model.path}",
                                   hint="train one: modelbay train recommendation --data interactions.csv")
        self.recommender = Recommender(read_recommendation_model(model.path))
        self.event_weights = {**EVENT_WEIGHTS, **self.recommender.model.event_weights}
        self.content_index = None  # item text vectors, embedded on the first request with liked_text

    def _content(self):
        from .content import ContentIndex

        if self.content_index is None:
            model = self.recommender.model
            self.content_index = ContentIndex(model.attributes, self.recommender.popular_scores, stored=model.content)
        return self.content_index

    def _store(self):
        from .store import shared_store

        return shared_store()  # read from the settings on each call: one store for every model of the task

    def _forward(self, items: list[RecommendInput]):
        store, rec = self._store(), self.recommender
        out = []
        for item in items:
            recent = store.items_of(item.user_id) if item.user_id is not None and item.use_events else []
            history = recent + [(i, 1.0) for i in item.history]
            content = (item.liked_text, lambda text=item.liked_text: self._content().scores(text)) if item.liked_text else None
            out.append(rec.recommend(item.user_id, item.k, exclude_seen=item.exclude_seen, filters=item.filters,
                                     history=history, exclude_items=item.exclude_items, content=content))
        return out

    def postprocess(self, raw, items: list[RecommendInput]) -> list[RecommendOutput]:
        rec = self.recommender
        return [RecommendOutput(user_id=item.user_id, strategy=r.strategy, reason=r.reason, catalog_size=rec.n_items,
                                items=[RecommendedItem(item_id=rec.item_ids[i], score=round(s, 6),
                                                       attributes=rec.attributes_of(i)) for i, s in r.items])
                for r, item in zip(raw, items)]

    def record_events(self, events: list[dict[str, Any]]) -> int:
        """Store events (committed before returning); the next request of their users sees them."""
        return self._store().append(validate_events(events, self.event_weights))

    def prediction(self, output: RecommendOutput) -> list[str]:
        return [i.item_id for i in output.items]

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Temporal split of an interaction table: test-period users, their first items as history, the rest to find."""
        from .data import evaluation_records, read_interactions, split_by_time
        from .train import config_from

        known = {"user_col", "item_col", "time_col", "weight_col", "event_col", "history_fraction"}
        config = config_from({k: v for k, v in options.items() if k in known})
        test_fraction = float(options.get("test_fraction", 0.2))
        frame = read_interactions(path, config.columns())
        train, test = split_by_time(frame, test_fraction)
        return evaluation_records(train, test, history_fraction=config.history_fraction, k=int(options.get("k", 10)))

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """Fit ALS (or ``algorithm=bpr|item-knn|popularity``) on an interaction table (``train.py``)."""
        from ...data.databases import data_source
        from .train import train_recommendation

        return train_recommendation(data_source(data), Path(out_dir), options, progress=progress, name=name, task=cls.name)
