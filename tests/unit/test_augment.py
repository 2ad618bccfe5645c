"""EDA augmentation and back-translation: seeded, label-preserving, and sane on Chinese."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from modelbay.tasks.text_classification import augment
from modelbay.tasks.text_classification.augment import (
    EdaConfig,
    augment_records,
    back_translate,
    eda,
    join_words,
    split_words,
)

RECORDS = [
    {"text": "the parcel arrived late and the box was damaged", "label": "negative", "source": "en"},
    {"text": "great service and a very friendly courier", "label": "positive", "source": "en"},
    {"text": "送了一个半小时，饭都凉透了，汤还洒了一袋子。", "label": "negative", "source": "zh"},
    {"text": "物流很快，包装也很好，五星好评", "label": "positive", "source": "zh"},
]


@pytest.fixture(autouse=True)
def characters_for_chinese(request, monkeypatch):
    """Loading snownlp's segmenter takes seconds; only the test marked slow uses it."""
    if "slow" not in request.keywords:
        monkeypatch.setattr(augment, "_segmenter", lambda: None)


def test_augmentation_is_seeded_and_keeps_labels():
    first = augment_records(RECORDS, copies=3, seed=7)
    assert first == augment_records(RECORDS, copies=3, seed=7)
    assert first != augment_records(RECORDS, copies=3, seed=8)
    assert first[:len(RECORDS)] == RECORDS  # originals first, untouched
    added = first[len(RECORDS):]
    assert len(RECORDS) < len(added) <= 3 * len(RECORDS)
    by_text = {r["text"]: r for r in RECORDS}
    for rec in added:
        assert rec["augmented"] is True and rec["text"] not in by_text
    for original in RECORDS:  # every variant keeps its original's label and other fields
        variants = [r for r in added if r["source"] == original["source"] and r["label"] == original["label"]]
        assert variants
    assert augment_records(RECORDS, copies=0) == RECORDS


def test_a_records_variants_do_not_depend_on_the_other_records():
    alone = augment_records(RECORDS[:1], copies=2, seed=1)
    together = augment_records(RECORDS, copies=2, seed=1)
    assert [r for r in together if r.get("augmented") and r["source"] == "en" and r["label"] == "negative"] == alone[1:]


def test_each_edit_uses_only_the_texts_own_words():
    text = RECORDS[0]["text"]
    words = Counter(text.split())
    for op in ("swap", "delete", "insert"):
        config = EdaConfig(operations=(op,), alpha_swap=0.3, alpha_insert=0.3, p_delete=0.3)
        for seed in range(10):
            new = Counter(eda(text, random.Random(seed), config).split())
            if op == "swap":
                assert new == words
            elif op == "delete":
                assert new <= words and sum(new.values()) < sum(words.values())
            else:
                assert set(new) == set(words) and sum(new.values()) > sum(words.values())


def test_synonyms_come_only_from_a_given_local_source():
    config = EdaConfig(operations=("synonym",), alpha_synonym=1.0)
    text = "great service and a friendly courier"
    assert eda(text, random.Random(0), config) == text  # no synonym source: nothing to do
    new = eda(text, random.Random(0), config, synonyms={"great": ["excellent"], "friendly": ["kind"]})
    assert new == "excellent service and a kind courier"
    assert eda(text, random.Random(0), config, synonyms=lambda w: ["superb"] if w == "great" else []) == \
        "superb service and a friendly courier"


def test_chinese_is_split_into_characters_and_joined_without_spaces():
    text = RECORDS[2]["text"]
    assert split_words(text) == list(text)
    assert join_words(split_words(text)) == text
    assert split_words("质量不错 but slow")[-2:] == ["but", "slow"]
    chars = Counter(text)
    for seed in range(10):
        new = eda(text, random.Random(seed), EdaConfig(operations=("swap",), alpha_swap=0.3))
        assert " " not in new and Counter(new) == chars  # swapped words, same characters
    assert set(split_words(text, cjk_words=False)) <= set(text)


def test_back_translation_round_trips_through_the_pivot():
    calls = []

    def translate(texts, target):
        calls.append((target, list(texts)))
        return [f"{t} [{target}]" for t in texts]

    out = back_translate(RECORDS, translate, pivot="en")
    assert [c[0] for c in calls] == ["zh", "en", "en", "zh"]  # English goes through Chinese, Chinese through English
    assert len(out) == len(RECORDS) and all(r["augmented"] == "back-translation" for r in out)
    assert [r["label"] for r in out] == ["negative", "positive", "negative", "positive"]
    assert out[0]["text"] == RECORDS[0]["text"] + " [zh] [en]"
    assert back_translate(RECORDS, lambda texts, target: list(texts)) == []  # unchanged round trips are dropped


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="shuffle"):
        EdaConfig(operations=("shuffle",))
    with pytest.raises(ValueError, match="p_delete"):
        EdaConfig(p_delete=2)
    with pytest.raises(ValueError, match="copies"):
        augment_records(RECORDS, copies=-1)


@pytest.mark.slow  # loads snownlp's segmenter (3-15 s)
def test_chinese_is_split_into_words_with_snownlp():
    pytest.importorskip("snownlp")
    text = RECORDS[2]["text"]
    words = split_words(text)
    assert "小时" in words and len(words) < len(text) and join_words(words) == text
    assert split_words(text, cjk_words=False) == list(text)
