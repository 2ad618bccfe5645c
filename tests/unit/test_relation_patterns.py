"""Relation extraction without the spaCy model: Chinese jieba rules and parsing an LLM's reply."""

from modelbay.tasks.relation_extraction.llm_triples import parse_triples, prompt
from modelbay.tasks.relation_extraction.patterns_zh import chinese_triples


def _facts(triples):
    return [(t["subject"], t["relation"], t["object"]) for t in triples]


def test_chinese_subject_verb_object_with_offsets_and_labels():
    text = "周杰伦出生于台湾。马云创办了阿里巴巴。"
    triples = chinese_triples(text)
    assert _facts(triples) == [("周杰伦", "出生于", "台湾"), ("马云", "创办", "阿里巴巴")]
    first = triples[0]
    assert text[first["subject_start"]:first["subject_end"]] == "周杰伦" and first["subject_label"] == "PER"
    assert text[first["object_start"]:first["object_end"]] == "台湾" and first["object_label"] == "LOC"
    assert first["sentence"] == "周杰伦出生于台湾。"


def test_chinese_attribute_pattern_and_a_noun_tagged_verb():
    assert _facts(chinese_triples("苹果公司的创始人是乔布斯。")) == [("苹果公司", "创始人", "乔布斯")]
    # jieba tags 会见 as a noun; followed by 了 it is read as the verb
    assert _facts(chinese_triples("李鹏在北京会见了美国客人。")) == [("李鹏", "会见", "美国客人")]


def test_a_merged_argument_keeps_a_label_only_when_all_parts_have_it():
    (triple,) = chinese_triples("华为总部位于深圳。")
    assert triple["subject"] == "华为总部" and triple["subject_label"] is None


def test_no_verb_or_no_object_gives_no_triple():
    assert chinese_triples("今天天气很好") == [] and chinese_triples("。，") == []


def test_llm_reply_parsing_keeps_only_triples_grounded_in_the_text():
    text = "Apple acquired Beats in 2014. 马云创办了阿里巴巴。"
    reply = ('Here are the facts:\n["Apple", "acquired", "Beats"]\n["Apple", "acquired", "Beats"]\n'
             '["Google", "owns", "YouTube"]\n["马云", "创办", "阿里巴巴"]\n["too", "short"]\nnot json ["a", ')
    triples = parse_triples(reply, text)
    assert _facts(triples) == [("Apple", "acquired", "Beats"), ("马云", "创办", "阿里巴巴")]
    assert text[triples[1]["object_start"]:triples[1]["object_end"]] == "阿里巴巴"
    assert triples[1]["sentence"] == "马云创办了阿里巴巴。"


def test_the_prompt_is_a_system_and_a_user_turn():
    messages = prompt("华为总部位于深圳。")
    assert [m["role"] for m in messages] == ["system", "user"] and messages[1]["content"] == "华为总部位于深圳。"
