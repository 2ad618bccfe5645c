"""BLEU and chrF of translation on human en->zh_CN translations that ship in a Debian package.

Data: the Simplified Chinese message catalogue of git (Debian package ``git``,
/usr/share/locale/zh_CN/LC_MESSAGES/git.mo, translated by git's l10n team), read with Python's
gettext. Kept: messages that read as sentences (40-200 characters, ending in ".", no format
directives, no line breaks or option syntax), sorted by the English text, the first ``--limit``.
They are UI messages, not news: a software domain. Both directions are scored (the reference
of zh->en is git's English). Scores are the project's "translation" family (sacrebleu; "zh"
tokenizer for Chinese references).

    .venv/bin/python bench/translation_bleu.py --limit 50 [--model translation-llm]
"""

from __future__ import annotations

import argparse
import gettext
import re
import time

MO_FILE = "/usr/share/locale/zh_CN/LC_MESSAGES/git.mo"
_SENTENCE = re.compile(r"[A-Z][^%{}<>\n\t`$\\|]{38,198}\.")


def git_pairs(limit: int, path: str = MO_FILE) -> list[tuple[str, str]]:
    with open(path, "rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog  # msgid -> msgstr
    pairs = [(en.strip(), zh.strip()) for en, zh in catalog.items()
             if isinstance(en, str) and isinstance(zh, str) and _SENTENCE.fullmatch(en.strip()) and " --" not in en
             and re.search(r"[\u4e00-\u9fff]", zh)]
    return sorted(pairs)[:limit]


def main() -> None:
    from modelbay.core.loading import load_task
    from modelbay.ml.metrics import compute

    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--model", default=None, help="a translation catalog model (default: the task's)")
    args = parser.parse_args()
    pairs = git_pairs(args.limit)
    task = load_task("translation", args.model)
    for source, target, src_idx in (("en", "zh", 0), ("zh", "en", 1)):
        started = time.perf_counter()
        items = [task.coerce({"text": p[src_idx], "source_lang": source, "target_lang": target}) for p in pairs]
        outputs = task(items)
        seconds = time.perf_counter() - started
        scores = compute("translation", [p[1 - src_idx] for p in pairs], [o.translation_text for o in outputs])
        print(f"git zh_CN catalogue, {len(pairs)} messages, {source}->{target} with {task.model.spec.name}: "
              f"BLEU {scores['bleu']:.2f}  chrF {scores['chrf']:.2f}  ({seconds:.1f} s)  {scores['bleu_signature']}")


if __name__ == "__main__":
    main()
