"""Knowledge-base retrieval when the user's words differ from the FAQ's: BM25 vs dense vs hybrid (RRF).

    .venv/bin/python bench/kb_retrieval.py [--max-queries 400]

Data: ``chatterbot-corpus`` 1.3.3 from PyPI (BSD), the installed package's
``chatterbot_corpus/data/english/*.yml`` and ``chinese/*.yml``: question/answer dialogue turns
(the first two turns of each conversation). Nothing is copied into the repository.

* **answer retrieval** — every distinct answer is one FAQ entry (a CSV row answer-only, through
  the real ``KnowledgeBase.add``); each question is a query, and the hit is its own answer. The
  user's words are not the FAQ's words here by construction.
* **paraphrase** — questions that the corpus answers with the same answer are paraphrases: the
  first one (with its answer) is the FAQ entry, the others are queries. Few pairs (see the counts).

Prints hit@5 and MRR@10 per language and mode, and hybrid's relative hit@5 gain over the better of
BM25 and dense. The handoff threshold is calibrated on the same corpus by ``bench/kb_calibrate.py``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

MODES = ("bm25", "dense", "hybrid")


def corpus_files(language: str) -> list[Path]:
    spec = importlib.util.find_spec("chatterbot_corpus")
    if spec is None:
        raise SystemExit("pip install chatterbot-corpus==1.3.3  (the data of this benchmark)")
    return sorted((Path(next(iter(spec.submodule_search_locations))) / "data" / language).glob("*.yml"))


def dialogue_pairs(path: Path) -> list[tuple[str, str]]:
    import yaml

    pairs = []
    for conversation in yaml.safe_load(path.read_text(encoding="utf-8")).get("conversations", []):
        if len(conversation) >= 2 and all(isinstance(t, str) and t.strip() for t in conversation[:2]):
            pairs.append((conversation[0].strip(), conversation[1].strip()))
    return pairs


def build_kb(name: str, root: Path, entries: list[str]):
    from modelbay.kb import KnowledgeBase

    faq = root / f"{name}.csv"
    with faq.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question", "answer"])
        writer.writerows(["", e] for e in entries)
    kb = KnowledgeBase.create(name, root=root / "kbs")
    t = time.perf_counter()
    report = kb.add([faq])
    return kb, report.chunks_added / (time.perf_counter() - t)


def evaluate(kb, queries: list[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """``mode -> (hit@5, MRR@10)``; a query is ``(text, gold entry text)``."""
    out = {}
    for mode in MODES:
        hits, rr = [], []
        for query, gold in queries:
            texts = [h.text for h in kb.search(query, k=10, mode=mode).hits]
            rank = texts.index(gold) + 1 if gold in texts else 0
            hits.append(0 < rank <= 5)
            rr.append(1 / rank if rank else 0.0)
        out[mode] = (float(np.mean(hits)), float(np.mean(rr)))
    return out


def report(title: str, scores: dict[str, tuple[float, float]], n: int, entries: int) -> None:
    print(f"\n{title}: {n} queries over {entries} FAQ entries")
    for mode in MODES:
        print(f"  {mode:7} hit@5 {scores[mode][0]:.3f}   MRR@10 {scores[mode][1]:.3f}")
    best = max(scores["bm25"][0], scores["dense"][0])
    print(f"  hybrid vs best single mode: hit@5 {scores['hybrid'][0] / best - 1:+.1%} relative (target >= +25%)")


def run_language(language: str, root: Path, max_queries: int, rng: random.Random) -> None:
    pairs = [p for f in corpus_files(language) for p in dialogue_pairs(f)]
    answers = sorted({a for _, a in pairs})
    kb, rate = build_kb(f"{language}-answers", root, answers)
    queries = rng.sample(pairs, min(max_queries, len(pairs)))
    report(f"{language} answer retrieval", evaluate(kb, queries), len(queries), len(answers))
    print(f"  ingestion: {rate:.1f} chunks/s (embedding included)")
    groups: dict[str, list[str]] = defaultdict(list)
    for q, a in pairs:
        if q not in groups[a]:
            groups[a].append(q)
    entries = [f"{qs[0]}\n{a}" for a, qs in groups.items()]
    paraphrases = [(q, f"{qs[0]}\n{a}") for a, qs in groups.items() for q in qs[1:]]
    kb2, _ = build_kb(f"{language}-paraphrase", root, [e for e in entries])
    report(f"{language} paraphrase (same-answer questions)", evaluate(kb2, paraphrases), len(paraphrases), len(entries))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-queries", type=int, default=400, help="answer-retrieval queries per language")
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as folder:
        for language in ("english", "chinese"):
            run_language(language, Path(folder), args.max_queries, rng)


if __name__ == "__main__":
    main()
