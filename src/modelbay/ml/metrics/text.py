"""Metric families over text: "speech" (jiwer), "translation" (sacrebleu),
"summarization" (rouge-score), "language-model" (perplexity)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from ...core.errors import BadInput
from .common import check_pairs, choose_headline, family, mean_stats, mostly_cjk, ratio, to_float


def normalize_text(text: str) -> str:
    """Lower-case, drop punctuation and symbols, collapse whitespace (``normalize=True`` in "speech").

    >>> normalize_text("Hello,  World!  It's 5 o'clock.")
    'hello world its 5 oclock'
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "S")))
    return " ".join(text.split())


def _speech_pairs(truths, preds, extra) -> tuple[list[str], list[str]]:
    norm = bool((extra or {}).get("normalize", False))
    refs = [normalize_text(str(t)) if norm else " ".join(str(t).split()) for t in truths]
    hyps = [normalize_text(str(p)) if norm else " ".join(str(p).split()) for p in preds]
    return refs, hyps


def _edit_counts(refs: list[str], hyps: list[str], unit: str):
    """Per item (substitutions, deletions, insertions, hits) over words or characters (jiwer)."""
    import jiwer

    process = jiwer.process_words if unit == "word" else jiwer.process_characters
    rows = []
    for ref, hyp in zip(refs, hyps):
        size = (lambda s: len(s.split())) if unit == "word" else len
        if not ref or not hyp:  # jiwer refuses empty strings; the answer is plain
            rows.append((0, size(ref), size(hyp), 0))
            continue
        o = process(ref, hyp)
        rows.append((o.substitutions, o.deletions, o.insertions, o.hits))
    return rows


def _speech_headline(refs: list[str], extra: dict | None) -> str:
    return "cer" if mostly_cjk(refs) else "wer"


def _speech_stats(truths, preds, extra, headline):
    import numpy as np

    if headline not in ("wer", "cer"):
        return None
    refs, hyps = _speech_pairs(truths, preds, extra)
    rows = np.array(_edit_counts(refs, hyps, "word" if headline == "wer" else "char"), dtype=float)
    return np.stack([rows[:, :3].sum(axis=1), rows[:, 0] + rows[:, 1] + rows[:, 3]], axis=1), ratio


def _speech_severity(truths, preds, extra):
    refs, hyps = _speech_pairs(truths, preds, extra)
    unit = "char" if _speech_headline(refs, extra) == "cer" else "word"
    out = []
    for s, d, i, h in _edit_counts(refs, hyps, unit):
        errors = s + d + i
        out.append(None if not errors else errors / max(s + d + h, 1))
    return out


@family(stats=_speech_stats, severity=_speech_severity)
def speech(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """Word and character error rates (jiwer), corpus-level: edits / reference length.

    ``extra["normalize"]``: compare lower-cased text without punctuation. The headline is CER
    when most references are Chinese/Japanese/Korean (no spaces between words), else WER.

    >>> m = speech(["the cat sat on the mat"], ["the cat sit on mat"])
    >>> m["headline"], m["wer"], m["substitutions"], m["deletions"]
    ('wer', 0.3333333333333333, 1, 1)
    """
    n = check_pairs(truths, predictions)
    refs, hyps = _speech_pairs(truths, predictions, extra)
    words = [sum(col) for col in zip(*_edit_counts(refs, hyps, "word"))]
    chars = [sum(col) for col in zip(*_edit_counts(refs, hyps, "char"))]
    s, d, i, h = words
    ref_words, ref_chars = s + d + h, chars[0] + chars[1] + chars[3]
    result = {
        "n": n,
        "wer": (s + d + i) / ref_words if ref_words else None,
        "cer": sum(chars[:3]) / ref_chars if ref_chars else None,
        "substitutions": s, "deletions": d, "insertions": i, "hits": h,
        "reference_words": ref_words, "reference_chars": ref_chars,
        "exact_match": sum(a == b for a, b in zip(refs, hyps)) / n,
        "normalized": bool((extra or {}).get("normalize", False)),
    }
    return choose_headline(result, _speech_headline(refs, extra), extra)


# -- translation --------------------------------------------------------------------------------


def _references(truths: Sequence) -> list[list[str | None]]:
    """sacrebleu's layout: one stream per reference position; None where an item has fewer references."""
    lists = [[str(r) for r in t] if isinstance(t, (list, tuple)) else [str(t)] for t in truths]
    width = max(len(x) for x in lists)
    return [[x[k] if k < len(x) else None for x in lists] for k in range(width)]


def _bleu_chrf(truths, preds, extra):
    from sacrebleu.metrics import BLEU, CHRF

    refs = _references(truths)
    tokenize = (extra or {}).get("tokenize") or ("zh" if mostly_cjk([r for r in refs[0] if r]) else "13a")
    return BLEU(tokenize=tokenize), CHRF(), [str(p) for p in preds], refs


def _translation_stats(truths, preds, extra, headline):
    import numpy as np

    if headline not in ("bleu", "chrf"):
        return None
    bleu, chrf, hyps, refs = _bleu_chrf(truths, preds, extra)
    metric = bleu if headline == "bleu" else chrf
    rows = np.array(metric._extract_corpus_statistics(hyps, refs), dtype=float)
    # sacrebleu scores a corpus from the summed per-sentence statistics (its own bootstrap does this)
    return rows, lambda sums: np.array([metric._compute_score_from_stats([int(v) for v in row]).score for row in sums])


def _translation_severity(truths, preds, extra):
    _, chrf, hyps, refs = _bleu_chrf(truths, preds, extra)
    scores = [chrf._compute_score_from_stats(row).score for row in chrf._extract_corpus_statistics(hyps, refs)]
    return [None if score >= 100 else 100 - score for score in scores]


@family(stats=_translation_stats, severity=_translation_severity)
def translation(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """Corpus BLEU and chrF (sacrebleu, 0-100) with their signatures; a truth may be a list of references.

    ``extra["tokenize"]`` picks sacrebleu's tokenizer; by default "zh" when most references are
    Chinese/Japanese/Korean, else "13a".

    >>> m = translation(["the cat is on the mat"], ["the cat is on the mat"])
    >>> m["headline"], round(m["bleu"], 6), m["chrf"]
    ('bleu', 100.0, 100.0)
    """
    n = check_pairs(truths, predictions)
    bleu, chrf, hyps, refs = _bleu_chrf(truths, predictions, extra)
    b = bleu.corpus_score(hyps, refs)
    c = chrf.corpus_score(hyps, refs)
    result = {"n": n, "bleu": float(b.score), "chrf": float(c.score), "bleu_precisions": [float(x) for x in b.precisions],
              "brevity_penalty": float(b.bp), "hypothesis_length": int(b.sys_len), "reference_length": int(b.ref_len),
              "bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature())}
    return choose_headline(result, "bleu", extra)


# -- summarization ------------------------------------------------------------------------------

_CJK_CHAR = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK_CHAR}]|[^\W_{_CJK_CHAR}]+")


class RougeTokenizer:
    """rouge-score's tokenizer keeps only [a-z0-9]; this one also keeps every CJK character as a token.

    >>> RougeTokenizer().tokenize("Hello, 世界! café")
    ['hello', '世', '界', 'café']
    """

    def __init__(self, stemmer: bool = False) -> None:
        self.stemmer = None
        if stemmer:
            from nltk.stem import porter

            self.stemmer = porter.PorterStemmer()

    def tokenize(self, text: str) -> list[str]:
        tokens = _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())
        if self.stemmer is not None:  # as rouge-score does: only words longer than 3 characters
            tokens = [self.stemmer.stem(t) if len(t) > 3 else t for t in tokens]
        return tokens


_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def _rouge_rows(truths, preds, extra) -> list[dict[str, Any]]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(_ROUGE_TYPES), tokenizer=RougeTokenizer(bool((extra or {}).get("stemmer"))))
    rows = []
    for t, p in zip(truths, preds):
        refs = [str(r) for r in t] if isinstance(t, (list, tuple)) else [str(t)]
        scored = [scorer.score(ref, str(p)) for ref in refs]
        rows.append({k: max((s[k] for s in scored), key=lambda x: x.fmeasure) for k in _ROUGE_TYPES})
    return rows


def _rouge_stats(truths, preds, extra, headline):
    if headline not in _ROUGE_TYPES:
        return None
    return mean_stats([row[headline].fmeasure for row in _rouge_rows(truths, preds, extra)])


def _rouge_severity(truths, preds, extra):
    return [None if row["rougeL"].fmeasure >= 1 else 1 - row["rougeL"].fmeasure for row in _rouge_rows(truths, preds, extra)]


@family(stats=_rouge_stats, severity=_rouge_severity)
def summarization(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """Mean ROUGE-1/2/L F-measure (rouge-score; 0-1), precision and recall; CJK text is scored by characters.

    >>> m = summarization(["the cat sat on the mat"], ["the cat on the mat"])
    >>> m["headline"], round(m["rouge1"], 4), round(m["rouge2"], 4)
    ('rougeL', 0.9091, 0.6667)
    """
    n = check_pairs(truths, predictions)
    rows = _rouge_rows(truths, predictions, extra)
    result: dict[str, Any] = {"n": n}
    for k in _ROUGE_TYPES:
        result[k] = sum(r[k].fmeasure for r in rows) / n
        result[f"{k}_precision"] = sum(r[k].precision for r in rows) / n
        result[f"{k}_recall"] = sum(r[k].recall for r in rows) / n
    return choose_headline(result, "rougeL", extra)


# -- language model -----------------------------------------------------------------------------


def _log_likelihoods(predictions: Sequence) -> list[tuple[float, int]]:
    """Per item (sum of token log-likelihoods, token count) from lists, dicts or objects."""
    out = []
    for i, p in enumerate(predictions):
        if isinstance(p, dict) and "log_likelihood" in p:
            out.append((to_float(p["log_likelihood"], f"prediction {i}"), int(p.get("tokens", 1))))
            continue
        values = p if isinstance(p, (list, tuple)) else getattr(p, "token_logprobs", None)
        if not isinstance(values, (list, tuple)) or not values:
            raise BadInput(f"prediction {i}: expected a non-empty list of token log-likelihoods, got {p!r:.60}")
        lls = [to_float(v, f"prediction {i}") for v in values]
        if any(v > 1e-9 for v in lls):
            raise BadInput(f"prediction {i}: log-likelihoods must be <= 0 (natural log), got {max(lls)}")
        out.append((sum(lls), len(lls)))
    return out


def _lm_stats(truths, preds, extra, headline):
    import numpy as np

    if headline != "perplexity":
        return None
    rows = np.array(_log_likelihoods(preds), dtype=float)
    return np.stack([-rows[:, 0], rows[:, 1]], axis=1), lambda sums: np.exp(ratio(sums))


def _lm_severity(truths, preds, extra):
    import math

    return [math.exp(-ll / max(count, 1)) for ll, count in _log_likelihoods(preds)]


@family(stats=_lm_stats, severity=_lm_severity)
def language_model(truths: Sequence, predictions: Sequence, extra: dict | None = None) -> dict[str, Any]:
    """Perplexity = exp(-total log-likelihood / tokens) from each item's per-token natural-log likelihoods.

    >>> import math
    >>> m = language_model([None, None], [[math.log(0.5), math.log(0.25)], [math.log(0.5)]])
    >>> m["headline"], round(m["perplexity"], 4), m["tokens"]
    ('perplexity', 2.5198, 3)
    """
    import math

    n = check_pairs(truths, predictions)
    rows = _log_likelihoods(predictions)
    total, tokens = sum(r[0] for r in rows), sum(r[1] for r in rows)
    nll = -total / tokens
    result = {"n": n, "perplexity": math.exp(nll), "nll_per_token": nll, "bits_per_token": nll / math.log(2),
              "tokens": tokens, "mean_item_perplexity": sum(math.exp(-ll / c) for ll, c in rows) / n}
    return choose_headline(result, "perplexity", extra)
