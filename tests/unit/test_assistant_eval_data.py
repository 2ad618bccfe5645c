"""The question file of `modelbay eval assistant` (the one `modelbay kb calibrate` reads too)."""

from __future__ import annotations

import pytest

from modelbay.core.errors import BadInput
from modelbay.tasks.assistant.evaluation import load_questions


def test_answers_are_texts_or_lists_and_an_empty_one_means_unanswerable(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text('{"question": "Refunds?", "answer": " 5 days ", "source": "returns.md"}\n'
                    '{"question": "Who?", "answer": ["Ada", "", null, "Ada Lovelace"]}\n'
                    '{"question": "Cars?", "answer": ""}\n'
                    '{"question": "Boats?", "answer": [null, " "]}\n'
                    '{"question": "Planes?"}\n', encoding="utf-8")
    records = load_questions(path, {"kb": "support"})
    assert [r["reference"]["answer"] for r in records] == ["5 days", ["Ada", "Ada Lovelace"], None, None, None]
    assert records[0]["reference"]["source"] == "returns.md" and {r["kb"] for r in records} == {"support"}
    with pytest.raises(BadInput, match="no knowledge base"):
        load_questions(path, {})
