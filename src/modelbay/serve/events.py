"""Real-time interaction events: ``POST /v1/events``, for every task that records them (``RecordsEvents``).

    curl -s localhost:8000/v1/events -H 'Content-Type: application/json' \\
         -d '{"events": [{"user_id": "u1", "item_id": "i9", "event": "purchase"}]}'
    {"task": "recommendation", "model": "recommend-movielens", "stored": 1}

The task stores them durably before the answer (a 2xx means committed), so an acknowledged
event survives the server being killed. ``task`` may be omitted when exactly one registered task
records events; ``model`` picks the loaded model that validates them (its task's default otherwise).
The route never names a task: it asks the registry which declare ``RecordsEvents``.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from ..core.errors import BadInput
from ..core.protocols import RecordsEvents

#: events one request may carry
MAX_EVENTS = 10_000


class EventsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[dict[str, Any]] = Field(..., min_length=1, max_length=MAX_EVENTS,
                                         description="events, e.g. {\"user_id\": \"u1\", \"item_id\": \"i9\", \"event\": \"view\"}")
    task: str | None = Field(None, description="the task that records them (default: the only one that does)")
    model: str | None = Field(None, description="the task's model (default: its default model)")


class EventsResponse(BaseModel):
    task: str
    model: str
    stored: int = Field(..., description="events committed to the store")


def event_task(name: str | None) -> str:
    """The task that records events: ``name`` (checked), or the only registered one that does."""
    from ..core.registry import all_tasks, get_task

    recording = [cls.name for cls in all_tasks() if issubclass(cls, RecordsEvents)]
    if name is not None:
        cls = get_task(name)
        if not issubclass(cls, RecordsEvents):
            raise BadInput(f"task {cls.name!r} does not record events; tasks that do: {', '.join(recording) or 'none'}")
        return cls.name
    if len(recording) != 1:
        raise BadInput(f"name the task that records these events; tasks that do: {', '.join(recording) or 'none'}",
                       hint='add "task": "<name>" to the request')
    return recording[0]


def install(app: FastAPI, ctx) -> None:
    async def post_events(body: EventsRequest) -> EventsResponse:
        name = event_task(body.task)
        task = await ctx.load(name, body.model)
        stored = await anyio.to_thread.run_sync(task.record_events, body.events)
        return EventsResponse(task=name, model=task.model.spec.name, stored=stored)

    app.add_api_route("/v1/events", post_events, methods=["POST"], response_model=EventsResponse, tags=["events"],
                      summary="Record interaction events (view, click, purchase…); committed before the answer")
