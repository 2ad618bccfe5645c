"""The handoff threshold chosen by ``KnowledgeBase.calibrate`` on one half of the questions, judged on the other.

For each data set, one knowledge base is built and its questions are split in two. ``calibrate``
chooses the threshold on the first half, twice: for the best balanced accuracy, and with
``min_answered=0.9`` (``modelbay kb calibrate --min-answered 0.9``). Then the held-out half is searched
with the default threshold (0.85) and with each chosen one. Printed for
each: the share of answerable questions answered, the share of unanswerable ones handed off,
and their mean (balanced accuracy).

Data (none of it written here; nothing was tuned on it):

* ``chatterbot-zh`` / ``chatterbot-en``: ``chatterbot-corpus`` 1.3.3 (PyPI, BSD), its Chinese / English
  dialogue files. The answers of every other topic file are indexed (one FAQ entry each); each
  question is answerable when its own answer is indexed. So the unanswerable questions are about
  topics the knowledge base lacks: what a support bot hears off its subject. Calibration: the
  questions of topic files 0, 1, 4, 5, …; held out: files 2, 3, 6, 7, …
* ``debian-zh`` / ``debian-en``: the Debian FAQ (``debian-faq-zh-cn`` / ``debian-faq`` 11.1, Debian),
  one document per answer, its section title as the question. A seeded 30% of the items are left
  out of the knowledge base, and their questions are the unanswerable ones: Debian questions next
  to Debian answers, the hardest case. Calibration and held-out halves: a seeded split of the items.

    pip install --no-deps chatterbot-corpus==1.3.3      # the chatterbot data
    python bench/kb_calibrate.py [--data chatterbot-zh chatterbot-en debian-zh debian-en]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SEED = 12345
LEFT_OUT = 0.3
MIN_ANSWERED = 0.9


def chatterbot(language: str, folder: Path):
    """The knowledge base (the indexed answers as one FAQ file), calibration questions, held-out questions."""
    from kb_retrieval import build_kb, corpus_files, dialogue_pairs

    files = corpus_files({"zh": "chinese", "en": "english"}[language])
    indexed = sorted({a for i, f in enumerate(files) if i % 2 == 0 for _, a in dialogue_pairs(f)})
    kb, _ = build_kb(f"chatterbot-{language}", folder, indexed)
    stored = set(indexed)
    halves: tuple[list, list] = ([], [])
    for i, f in enumerate(files):
        halves[0 if i % 4 in (0, 1) else 1].extend((q, a in stored) for q, a in dialogue_pairs(f))
    return kb, halves[0], halves[1]


def debian(language: str, folder: Path):
    from rc_data import debian_faq

    from modelbay.kb import KnowledgeBase

    items = debian_faq(language)
    rng = random.Random(SEED)
    left_out = set(rng.sample(range(len(items)), round(len(items) * LEFT_OUT)))
    calibration = set(rng.sample(range(len(items)), len(items) // 2))
    documents = []
    for n, item in enumerate(items):
        if n not in left_out:
            documents.append(folder / f"faq-{n:03d}.md")
            documents[-1].write_text(item["context"] + "\n", encoding="utf-8")
    kb = KnowledgeBase.create(f"debian-{language}")
    kb.add(documents)
    halves: tuple[list, list] = ([], [])
    for n, item in enumerate(items):
        halves[0 if n in calibration else 1].append((item["question"], n not in left_out))
    return kb, halves[0], halves[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["chatterbot-zh", "chatterbot-en", "debian-zh", "debian-en"])
    args = parser.parse_args()
    os.environ["MODELBAY_HOME"] = tempfile.mkdtemp(prefix="mb-calibrate-")
    import numpy as np

    from modelbay.kb import DEFAULT_CONFIDENCE_THRESHOLD
    from modelbay.kb.confidence import rates, search_signals

    print(f"{'data':14} {'questions (answerable)':>24}  {'threshold':>9}  {'answered':>8}  {'handed off':>10}  "
          f"{'balanced':>8}")
    for name in args.data:
        source, language = name.split("-")
        folder = Path(os.environ["MODELBAY_HOME"]) / name
        folder.mkdir()
        kb, calibration, held_out = (chatterbot if source == "chatterbot" else debian)(language, folder)
        floor = kb.calibrate(calibration, min_answered=MIN_ANSWERED).after
        chosen = kb.calibrate(calibration).after
        count = f"{len(calibration)} + {len(held_out)} ({sum(a for _, a in held_out)})"
        print(f"{name:14} {count:>24}  calibration half: chosen {chosen.threshold:.3f} "
              f"(balanced accuracy there {chosen.balanced_accuracy:.3f})")
        # the held-out half is searched once and judged at each threshold
        confidence, shares = search_signals([q for q, _ in held_out], lambda q, kb=kb: kb.search(q, k=3))
        answerable = np.array([a for _, a in held_out], dtype=bool)
        for label, threshold in (("default", DEFAULT_CONFIDENCE_THRESHOLD), ("chosen", chosen.threshold),
                                 (f"min_answered {MIN_ANSWERED}", floor.threshold)):
            r = rates(confidence, shares, answerable, threshold)
            print(f"{'  held out, ' + label:39} {r.threshold:9.3f}  {r.answered:8.3f}  {r.handed_off:10.3f}  "
                  f"{r.balanced_accuracy:8.3f}", flush=True)
        kb.close()

if __name__ == "__main__":
    main()
