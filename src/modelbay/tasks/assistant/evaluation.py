"""Questions with reference answers for ``modelbay eval assistant --data qa.jsonl -p kb=support``.

A table (JSONL, CSV…) with ``question``, ``answer`` (a string or a list of acceptable strings; empty or null: the documents do not answer it,
so handing off is right), optionally ``source`` (the document that answers it, for hit@k and
citations) and ``kb`` (else ``-p kb=NAME``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import BadInput


def load_questions(path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
    from ...data.loaders import cell_texts, read_table

    question_col = options.get("text_col") or "question"
    answer_col = options.get("label_col") or "answer"
    records = []
    for line, row in read_table(path, fmt=options.get("format")):
        question = row.get(question_col)
        if not isinstance(question, str) or not question.strip():
            raise BadInput(f"{path}:{line}: no question in column {question_col!r}; columns present: {sorted(row)}",
                           hint="name the question column with --text-col")
        kb = row.get("kb") or options.get("kb")
        if not kb:
            raise BadInput(f"{path}:{line}: no knowledge base: give a 'kb' column or -p kb=NAME")
        answer = cell_texts(row.get(answer_col))  # a list: several acceptable answers (SQuAD-style)
        source = row.get("source")
        records.append({"question": question, "kb": str(kb),
                        "reference": {"answer": answer, "source": str(source) if source else None}})
    if not records:
        raise BadInput(f"{path}: no questions")
    return records
