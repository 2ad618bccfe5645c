"""Names the decision model's reader, writer and policies share (kept apart, so no two of them import each other)."""

from __future__ import annotations

FORMAT = "modelbay.decision/1"
FILENAME = "decision.json"

#: what a policy answers for one context: (probability per action, reward estimate per action or None)
Answer = tuple[dict[str, float], dict[str, float] | None]
