"""Stop strings and streaming: where a reply ends, and which part of it can be shown already."""

from __future__ import annotations

from collections.abc import Sequence


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def settled_text(text: str, stops: Sequence[str]) -> str:
    """The text that can no longer change: without a trailing partial character or stop-string prefix.

    >>> settled_text("Hello EN", ["END"]), settled_text("ab\\ufffd", [])
    ('Hello ', 'ab')
    """
    text = text.rstrip("\ufffd")  # bytes of a character still being generated
    held = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), held, -1):
            if text.endswith(stop[:k]):
                held = k
                break
    return text[: len(text) - held]
