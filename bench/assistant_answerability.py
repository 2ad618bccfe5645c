"""Can the assistant tell that its passages do not answer a question? Signals against labels, as ROC AUC.

Each question is asked twice: once with its own document in the knowledge base (its top 3 passages
as retrieved), once with that document's passages taken out of the hits (the top 3 of the rest: the
neighbours a knowledge base without it would return). The label is whether the question's own
document is among the 3 passages. For each signal the script prints the ROC AUC of telling the two
apart (0.5: no better than chance; a handoff rule on the signal is only as good as this):

* ``cosine``: the best passage's multilingual-e5-small cosine, the assistant's handoff signal now;
* ``coverage``: the IDF-weighted share of the question's BM25 terms (jieba words, stemmed English)
  found in the 3 passages (IDF over the knowledge base's chunks);
* with ``--llm``, two readings by the assistant's LLM of the assistant's own prompt (``prompts.grounded_messages``
  with its key sentences): ``refusal``, the log-probability of the reply "I don't know." / "我不知道。"
  (what the system prompt asks for when the passages lack the answer), and ``judge``, P(yes) of a
  yes/no question put after the same passages ("Do the passages above contain the answer…?").

Data (``bench/rc_data.py``): ``zh`` / ``en-faq``, the Debian FAQ (Simplified Chinese / English), one
document per FAQ answer, its section title as the question; ``--half dev`` asks the questions of one half
of the items (a fixed seeded split), ``--half test`` the other. ``squad``: SQuAD v1.1 dev, one
document per paragraph, ``--questions`` questions of articles 7-12 (``dev``) or 1-6 (``test``).

    python bench/assistant_answerability.py --data zh --half dev --llm      # ~8 min on 2 cores
    python bench/assistant_answerability.py --data squad --half dev         # retrieval signals only
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

JUDGE = {
    "en": ("You check whether passages answer a question. Reply yes or no.",
           "Do the passages above contain the answer to the question? Reply yes or no.", ("yes", "no")),
    "zh": ("你负责检查段落是否回答了问题。只回答“是”或“否”。", "上面的段落中有这个问题的答案吗？只回答“是”或“否”。", ("是", "否")),
}
REFUSAL = {"en": "I don't know.", "zh": "我不知道。"}
HALF_SEED = 12345


def faq_items(language: str, half: str) -> tuple[dict[str, str], list[dict]]:
    from rc_data import debian_faq

    items = debian_faq(language)
    order = list(range(len(items)))
    random.Random(HALF_SEED).shuffle(order)
    dev = set(order[: len(items) // 2])
    name = lambda item: f"faq-{item['id'].rsplit('-', 1)[-1]}.md"
    docs = {name(item): item["context"] + "\n" for item in items}
    asked = [{"question": item["question"], "source": name(item)} for n, item in enumerate(items)
             if (n in dev) == (half == "dev")]
    return docs, asked


def llm_signals(llm, question: str, passages, language: str, kb_name: str) -> dict[str, float]:
    from modelbay.tasks.assistant import prompts
    from modelbay.tasks.assistant.retrieval import key_sentences

    keys = key_sentences(kb_name, question, passages, 2)
    messages = prompts.grounded_messages(question, [p.text for p in passages], [p.heading for p in passages],
                                         language, key_sentences=keys)
    refusal = llm.reply_logprobs(messages, [REFUSAL[language]])[0]
    system, ask, replies = JUDGE[language]
    judge = [{"role": "system", "content": system}, {"role": "user", "content": messages[-1]["content"] + "\n\n" + ask}]
    yes, no = llm.reply_logprobs(judge, list(replies))
    return {"refusal": refusal, "judge": 1 / (1 + math.exp(no - yes))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["zh", "en-faq", "squad"], default="zh")
    parser.add_argument("--half", choices=["dev", "test"], default="dev")
    parser.add_argument("--questions", type=int, default=200, help="questions asked (squad)")
    parser.add_argument("--llm", action="store_true", help="also the LLM's refusal log-probability and yes/no judgement")
    args = parser.parse_args()
    os.environ["MODELBAY_HOME"] = tempfile.mkdtemp(prefix="mb-answerable-")
    from sklearn.metrics import roc_auc_score

    from modelbay.kb import KnowledgeBase
    from modelbay.kb.lexical import bm25_tokens
    from modelbay.tasks.assistant.prompts import detect_language
    from modelbay.tasks.assistant.retrieval import Passage

    if args.data == "squad":
        from assistant_rc import english_items

        docs, asked = english_items(6, args.questions, 0.0, 1, 6 if args.half == "dev" else 0)
    else:
        docs, asked = faq_items("zh" if args.data == "zh" else "en", args.half)
    folder = Path(os.environ["MODELBAY_HOME"]) / "docs"
    folder.mkdir()
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    kb = KnowledgeBase.create("answerable")
    kb.add([folder])
    chunk_terms = [set(bm25_tokens(chunk.text)) for doc in kb.documents() for chunk in kb.chunks(doc.id)]
    frequency = Counter(term for terms in chunk_terms for term in terms)
    idf = lambda term: math.log((len(chunk_terms) + 1) / (frequency.get(term, 0) + 0.5))
    llm = None
    if args.llm:
        from modelbay.core.loading import load_task

        llm = load_task("assistant", "assistant-default").answerer.language_model()
    rows = []
    for number, item in enumerate(asked):
        hits = kb.search(item["question"], k=8).hits
        terms = set(bm25_tokens(item["question"]))
        weight = sum(idf(t) for t in terms) or 1.0
        for own_removed in (False, True):
            top = [h for h in hits if not own_removed or Path(h.source).name != item["source"]][:3]
            found = set().union(*(set(bm25_tokens(h.text)) for h in top))
            row = {"answerable": any(Path(h.source).name == item["source"] for h in top),
                   "cosine": max(h.dense_score for h in top),
                   "coverage": sum(idf(t) for t in terms & found) / weight}
            if llm is not None:
                passages = [Passage(text=h.text, document=Path(h.source).name, path=h.source, heading=h.section,
                                    page=h.page, chunk=h.position, score=h.score) for h in top]
                row |= llm_signals(llm, item["question"], passages, detect_language(item["question"]), "answerable")
            rows.append(row)
        if sys.stderr.isatty():
            print(f"\r{number + 1}/{len(asked)} questions", end="", file=sys.stderr, flush=True)
    labels = [int(r["answerable"]) for r in rows]
    print(f"\n{args.data}, {args.half} half: {len(asked)} questions, {len(rows)} cases, "
          f"{sum(labels)} with the question's own document in the top 3")
    signs = {"cosine": 1, "coverage": 1, "refusal": -1, "judge": 1}
    for signal in (s for s in signs if s in rows[0]):
        auc = roc_auc_score(labels, [signs[signal] * r[signal] for r in rows])
        print(f"  {signal:9s} ROC AUC {auc:.3f}")


if __name__ == "__main__":
    main()
