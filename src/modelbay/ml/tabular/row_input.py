"""One row of a table as a task input, shared by the table capabilities (tabular, risk scoring).

``{"features": {"age": 41, "plan": "pro"}}``, the bare row ``{"age": 41, "plan": "pro"}`` and the
JSON text of either (what the CLI passes) are the same input.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, field_validator, model_validator

from ...core.task import TaskInput

FeatureValue = float | int | str | bool | None


class RowInput(TaskInput):
    """A row of features: column name -> value; subclasses add per-item options."""

    features: dict[str, FeatureValue] = Field(
        ..., max_length=10_000, description="one row: column name -> number, string (categorical), bool or null (missing)",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_row(cls, data: Any) -> Any:
        # {"age": 41, ...} without the "features" wrapper is the row itself (JSONL files of rows, the CLI);
        # a subclass's own fields (options such as max_reasons) stay options
        if isinstance(data, dict) and "features" not in data and data:
            fields = cls.__pydantic_fields__  # not cls.model_fields: a property that costs ~50 µs a call
            own = {k: v for k, v in data.items() if k in fields}
            return {**own, "features": {k: v for k, v in data.items() if k not in fields}}
        return data

    @field_validator("features", mode="before")
    @classmethod
    def _json_text(cls, value: Any) -> Any:
        # the CLI passes a row as JSON text: modelbay run risk '{"age": 41}'
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a valid JSON object ({exc.msg})") from None
        return value
