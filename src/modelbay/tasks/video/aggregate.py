"""Summaries over time of per-frame outputs, read from their shape, never from the task's name.

* a list of ``{label, score}`` without a box (classification's ``labels``): mean score per label over
  the sampled frames (absent = 0), and spans of time with the same top label;
* a list of items with a ``box`` (``detections``, ``faces``…): per key — the item's ``label``, or the
  field's name in the singular when items have none (``faces`` -> ``face``) — first and last seen,
  frames seen in, most at once, and counts per second (the most in one frame of that second).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel, Field


class TopLabel(BaseModel):
    label: str
    score: float = Field(..., description="mean score over the sampled frames (0 where the label was not returned)")
    frames: int = Field(..., description="sampled frames that returned this label")


class LabelSpan(BaseModel):
    label: str = Field(..., description="the top label of every sampled frame in the span")
    start_s: float
    end_s: float
    score: float = Field(..., description="mean score of the label over the span's frames")


class Seen(BaseModel):
    label: str = Field(..., description="a detection's label, or the kind of thing found ('face') when it has none")
    first_seen_s: float
    last_seen_s: float
    frames: int = Field(..., description="sampled frames it was found in")
    max_count: int = Field(..., description="most found in one frame")


class SecondCounts(BaseModel):
    second: int = Field(..., description="whole seconds from the start")
    counts: dict[str, int] = Field(..., description="per label: the most found in one sampled frame of that second")


def _rows(value: Any) -> list[dict] | None:
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return value
    return None


def _is_boxed(rows: list[dict]) -> bool:
    return all("box" in r for r in rows)


def _is_labelled(rows: list[dict]) -> bool:
    return all(isinstance(r.get("label"), str) and isinstance(r.get("score"), (int, float)) for r in rows)


def _singular(field: str) -> str:
    return field[:-1] if field.endswith("s") and len(field) > 1 else field


def top_labels(frames: list[tuple[float, dict]], top_k: int) -> list[TopLabel]:
    """Labels by mean score over all sampled frames.

    >>> [t.label for t in top_labels([(0.0, {"labels": [{"label": "cat", "score": 0.9}]}),
    ...                              (1.0, {"labels": [{"label": "dog", "score": 0.6}]})], 5)]
    ['cat', 'dog']
    """
    total: dict[str, float] = defaultdict(float)
    seen: dict[str, int] = defaultdict(int)
    for _, out in frames:
        for value in out.values():
            rows = _rows(value)
            if rows and not _is_boxed(rows) and _is_labelled(rows):
                for r in rows:
                    total[r["label"]] += float(r["score"])
                    seen[r["label"]] += 1
    n = max(1, len(frames))
    ranked = sorted(total, key=lambda k: (-total[k], k))[:top_k]
    return [TopLabel(label=k, score=round(total[k] / n, 6), frames=seen[k]) for k in ranked]


def label_spans(frames: list[tuple[float, dict]], end_s: float) -> list[LabelSpan]:
    """Runs of sampled frames with the same top label; a span lasts until the next span's first frame."""
    tops: list[tuple[float, str, float]] = []
    for time_s, out in frames:
        best = None
        for value in out.values():
            rows = _rows(value)
            if rows and not _is_boxed(rows) and _is_labelled(rows):
                cand = max(rows, key=lambda r: float(r["score"]))
                best = cand if best is None or cand["score"] > best["score"] else best
        if best is not None:
            tops.append((time_s, best["label"], float(best["score"])))
    spans: list[LabelSpan] = []
    scores: list[float] = []
    for time_s, label, score in tops:
        if spans and spans[-1].label == label:
            scores.append(score)
            continue
        if spans:
            spans[-1].end_s = time_s
            spans[-1].score = round(sum(scores) / len(scores), 6)
        spans.append(LabelSpan(label=label, start_s=time_s, end_s=time_s, score=score))
        scores = [score]
    if spans:
        spans[-1].end_s = round(max(end_s, spans[-1].start_s), 3)
        spans[-1].score = round(sum(scores) / len(scores), 6)
    return spans


def seen_and_counts(frames: list[tuple[float, dict]]) -> tuple[list[Seen], list[SecondCounts]]:
    """What boxed things were found when, and how many per second."""
    seen: dict[str, Seen] = {}
    per_second: dict[int, dict[str, int]] = defaultdict(dict)
    for time_s, out in frames:
        counts: dict[str, int] = defaultdict(int)
        for field, value in out.items():
            rows = _rows(value)
            if rows and _is_boxed(rows):
                for r in rows:
                    key = r["label"] if isinstance(r.get("label"), str) else _singular(field)
                    counts[key] += 1
        second = per_second[int(time_s)]
        for key, n in counts.items():
            second[key] = max(second.get(key, 0), n)
            s = seen.get(key)
            if s is None:
                seen[key] = Seen(label=key, first_seen_s=time_s, last_seen_s=time_s, frames=1, max_count=n)
            else:
                s.last_seen_s, s.frames, s.max_count = time_s, s.frames + 1, max(s.max_count, n)
    ordered = sorted(seen.values(), key=lambda s: (s.first_seen_s, s.label))
    return ordered, [SecondCounts(second=k, counts=dict(sorted(v.items()))) for k, v in sorted(per_second.items()) if v]
