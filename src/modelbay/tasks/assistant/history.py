"""Conversations: each turn of each conversation id, in SQLite under ``<MODELBAY_HOME>/assistant/``.

A conversation id is the client's (any ``[A-Za-z0-9_.-]{1,64}``) or a new random one. Only the
last few turns go back into a prompt; the whole conversation stays for audit and review.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from ...core.errors import BadInput

CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: turns (a question and an answer each) put back into a prompt
HISTORY_TURNS = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
  conversation_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  kb TEXT NOT NULL,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  mode TEXT NOT NULL,
  sources TEXT NOT NULL,
  created_s REAL NOT NULL,
  PRIMARY KEY (conversation_id, position)
);
"""


def new_conversation_id() -> str:
    return uuid.uuid4().hex


def check_conversation_id(value: str) -> str:
    if not CONVERSATION_ID.match(value):
        raise BadInput(f"conversation_id {value[:80]!r} is not valid: use 1-64 letters, digits, '_', '.' or '-'")
    return value


class Conversations:
    """The turns of every conversation, in one SQLite file (safe across threads and processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30.0)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            with db:  # one transaction
                yield db

    def history(self, conversation_id: str, turns: int = HISTORY_TURNS) -> list[dict[str, str]]:
        """The last ``turns`` question/answer pairs as chat messages, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT question, answer FROM turns WHERE conversation_id = ? ORDER BY position DESC LIMIT ?",
                (conversation_id, turns)).fetchall()
        messages: list[dict[str, str]] = []
        for question, answer in reversed(rows):
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        return messages

    def append(self, conversation_id: str, kb: str, question: str, answer: str, mode: str, sources: list) -> int:
        """Store one turn; returns its position (0 for the first)."""
        with self._connect() as db:
            (last,) = db.execute("SELECT MAX(position) FROM turns WHERE conversation_id = ?",
                                 (conversation_id,)).fetchone()
            position = 0 if last is None else last + 1
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (conversation_id, position, kb, question, answer, mode,
                        json.dumps(sources, ensure_ascii=False), time.time()))
        return position

    def turns(self, conversation_id: str) -> list[dict]:
        """Every stored turn of a conversation, oldest first (for review and export)."""
        with self._connect() as db:
            rows = db.execute("SELECT position, kb, question, answer, mode, sources, created_s FROM turns "
                              "WHERE conversation_id = ? ORDER BY position", (conversation_id,)).fetchall()
        keys = ("position", "kb", "question", "answer", "mode", "sources", "created_s")
        return [dict(zip(keys, (*row[:5], json.loads(row[5]), row[6]), strict=True)) for row in rows]


def conversations() -> Conversations:
    from ...core.settings import get_settings

    return Conversations(get_settings().home / "assistant" / "conversations.sqlite")
