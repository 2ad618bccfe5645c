"""Entity data readers: People's Daily word/tag, CoNLL (BIO/IOB1/BIOES), JSONL; errors name file:line."""

import json

import pytest

from modelbay.core.errors import BadInput
from modelbay.tasks.ner.conll import (
    join_tokens,
    load_ner_records,
    normalise_label,
    parse_word_tag_line,
    tags_to_spans,
)


def _spans(record):
    return [(record["text"][e["start"]:e["end"]], e["label"]) for e in record["entities"]]


def test_word_tag_merges_names_reads_brackets_and_skips_the_document_id():
    line = ("19980101-01-001-001/m  中共中央/nt  总书记/n  、/w  国家/n  主席/n  江/nr  泽民/nr  在/p  "
            "[中央/n  人民/n  广播/vn  电台/n]nt  会见/v  [香港/ns  特别/a  行政区/n]ns  客人/n")
    record = parse_word_tag_line(line)
    assert record["text"] == "中共中央总书记、国家主席江泽民在中央人民广播电台会见香港特别行政区客人"
    assert _spans(record) == [("中共中央", "ORG"), ("江泽民", "PER"), ("中央人民广播电台", "ORG"), ("香港特别行政区", "LOC")]


def test_word_tag_keeps_separate_people_apart_and_a_non_entity_bracket_leaves_inner_tags():
    record = parse_word_tag_line("李鹏/nr  、/w  朱/nr  镕基/nr  访问/v  [北京/ns  大学/n]nz")
    assert _spans(record) == [("李鹏", "PER"), ("朱镕基", "PER"), ("北京", "LOC")]
    assert parse_word_tag_line("   ") is None


@pytest.mark.parametrize("line, problem", [
    ("江/nr  泽民", "token 2 '泽民' is not word/tag"),
    ("[中央/n  电台/n  好/a", "never closed"),
    ("/nr  好/a", "is not word/tag"),
])
def test_word_tag_errors_name_the_line_and_token(tmp_path, line, problem):
    path = tmp_path / "pd.txt"
    path.write_text("迈向/v  世纪/n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(BadInput) as info:
        load_ner_records(path, "word/tag")
    assert f"{path}:2" in str(info.value) and problem in str(info.value)


@pytest.mark.parametrize("tags, spans", [
    (["B-PER", "I-PER", "O", "B-LOC"], [(0, 2, "PER"), (3, 4, "LOC")]),          # IOB2
    (["I-PER", "I-PER", "B-PER", "O"], [(0, 2, "PER"), (2, 3, "PER")]),          # IOB1
    (["B-ORG", "E-ORG", "S-LOC", "B-PER", "I-PER", "E-PER"], [(0, 2, "ORG"), (2, 3, "LOC"), (3, 6, "PER")]),  # BIOES
    (["U-LOC", "B-ORG", "L-ORG"], [(0, 1, "LOC"), (1, 3, "ORG")]),               # BILOU
    (["B-PER", "I-LOC", "O"], [(0, 1, "PER"), (1, 2, "LOC")]),                   # a label change starts a new span
])
def test_tags_to_spans_reads_every_scheme(tags, spans):
    assert tags_to_spans(tags) == spans


def test_conll_english_joins_with_spaces_and_normalises_labels(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text("-DOCSTART- -X- O O\n\nTim NNP B-PER\nCook NNP I-PER\nvisited VBD O\nParis NNP B-GPE\n\n"
                    "Apple\tB-ORG\nrose\tO\n", encoding="utf-8")
    records = load_ner_records(path, language="en")
    assert [r["text"] for r in records] == ["Tim Cook visited Paris", "Apple rose"]
    assert _spans(records[0]) == [("Tim Cook", "PER"), ("Paris", "LOC")]
    assert records[1]["entities"] == [{"start": 0, "end": 5, "label": "ORG"}] and records[1]["language"] == "en"


def test_conll_chinese_characters_join_without_spaces(tmp_path):
    path = tmp_path / "zh.bio"
    path.write_text("李 B-PER\n鹏 I-PER\n在 O\n北 B-LOC\n京 I-LOC\n", encoding="utf-8")
    (record,) = load_ner_records(path)
    assert record["text"] == "李鹏在北京" and _spans(record) == [("李鹏", "PER"), ("北京", "LOC")]


@pytest.mark.parametrize("body, problem", [
    ("Tim B-PER\nCook\n", "expected 'token<TAB>tag'"),
    ("Tim B-PER\nCook X-PER\n", "bad tag 'X-PER'"),
])
def test_conll_errors_name_file_and_line(tmp_path, body, problem):
    path = tmp_path / "bad.conll"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(BadInput) as info:
        load_ner_records(path)
    assert f"{path}:2" in str(info.value) and problem in str(info.value)


def test_jsonl_accepts_objects_lists_and_spacy_tuples_and_checks_offsets(tmp_path):
    path = tmp_path / "data.jsonl"
    rows = [{"text": "Tim Cook left", "entities": [{"start": 0, "end": 8, "label": "PERSON"}]},
            {"text": "in Paris", "entities": [[3, 8, "GPE"]]},
            ["Apple rose", {"entities": [[0, 5, "ORG"]]}]]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert [_spans(r) for r in load_ner_records(path)] == [[("Tim Cook", "PER")], [("Paris", "LOC")], [("Apple", "ORG")]]
    path.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"text": "short", "entities": [[0, 9, "PER"]]}) + "\n")
    with pytest.raises(BadInput, match=r"data.jsonl:2: entity 0 has offsets 0..9 outside the text"):
        load_ner_records(path)


def test_unknown_extension_and_format_say_what_to_pass(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_text("x O\n")
    with pytest.raises(BadInput, match="--format"):
        load_ner_records(path)
    with pytest.raises(BadInput, match="unknown data format"):
        load_ner_records(path, "brat")
    assert len(load_ner_records(path, "conll")) == 1


def test_labels_and_joining():
    assert [normalise_label(x) for x in ("PERSON", "gpe", "LOC", "ORG", "DATE", "misc")] == ["PER", "LOC", "LOC", "ORG", "DATE", "MISC"]
    assert join_tokens(["Tim", "在", "北京", "met", "Li"], None) == ("Tim在北京met Li", [0, 3, 4, 6, 10])


def test_spacy_docbin_is_read(tmp_path):
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    doc = nlp("Tim Cook visited Paris")
    doc.ents = [doc.char_span(0, 8, label="PERSON"), doc.char_span(17, 22, label="GPE")]
    DocBin(docs=[doc]).to_disk(tmp_path / "train.spacy")
    (record,) = load_ner_records(tmp_path / "train.spacy")
    assert _spans(record) == [("Tim Cook", "PER"), ("Paris", "LOC")]
    (tmp_path / "bad.spacy").write_bytes(b"not a docbin")
    with pytest.raises(BadInput, match="bad.spacy"):
        load_ner_records(tmp_path / "bad.spacy")
