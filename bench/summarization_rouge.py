"""ROUGE of extractive or abstractive summarization on ACLSum (the test split that ships in the PyPI package aclsum 0.1.2, MIT).

Each document is a paper's abstract, introduction and conclusion (the dataset's own sentences,
joined); its reference is the three aspect summaries (challenge, approach, outcome) written by
the dataset's annotators, joined. Baseline in the same run: lead-k, the document's first k
sentences. Prints ROUGE-1/2/L F1 (the project's "summarization" metric family) of both and
their ratio. English only: no Chinese summarisation data ships in a PyPI or Debian package we found.

    pip install --no-deps aclsum==0.1.2
    .venv/bin/python bench/summarization_rouge.py --limit 40 --sentences 3
    .venv/bin/python bench/summarization_rouge.py --limit 30 --method abstractive   # the chat LLM, ~15 s a paper

Abstractive asks the default chat model for "about N sentences"; a paper longer than its context keeps its
best-ranked sentences (the task's own rule).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path


def aclsum_test(limit: int) -> list[dict]:
    spec = importlib.util.find_spec("aclsum")  # not imported: its __init__ needs sienna, which we do not install
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install --no-deps aclsum==0.1.2")
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset" / "test.jsonl"
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        row = json.loads(line)
        sentences = [s for section in ("abstract", "introduction", "conclusion") for s in row["sentences"][section]]
        reference = " ".join(row["summary"][aspect] for aspect in ("challenge", "approach", "outcome"))
        docs.append({"text": " ".join(sentences), "sentences": sentences, "summary": reference})
    return docs


def main() -> None:
    from modelbay.core.loading import load_task
    from modelbay.ml.metrics import compute

    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=40, help="documents of the test split (it has 100)")
    parser.add_argument("--sentences", type=int, default=3)
    parser.add_argument("--ranking", default="textrank", choices=["textrank", "lexrank"])
    parser.add_argument("--method", default="extractive", choices=["extractive", "abstractive"])
    args = parser.parse_args()
    docs = aclsum_test(args.limit)
    task = load_task("summarization")
    started = time.perf_counter()
    fields = {"sentences": args.sentences, "method": args.method, "ranking": args.ranking}
    outputs = task([task.coerce({"text": d["text"], **fields}) for d in docs])
    seconds = time.perf_counter() - started
    refs = [d["summary"] for d in docs]
    ours = compute("summarization", refs, [o.summary_text for o in outputs])
    lead = compute("summarization", refs, [" ".join(d["sentences"][:args.sentences]) for d in docs])
    method = args.ranking if args.method == "extractive" else "abstractive (chat LLM)"
    print(f"ACLSum test, first {len(docs)} documents, {args.sentences} sentences, {method}, {seconds:.1f} s")
    for name in ("rouge1", "rouge2", "rougeL"):
        print(f"  {name:7s} ours {ours[name]:.4f}  lead-{args.sentences} {lead[name]:.4f}  ratio {ours[name] / lead[name]:.3f}")


if __name__ == "__main__":
    main()
