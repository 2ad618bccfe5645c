"""modelbay.data.loaders: every table format reads the same records; errors name the file, line and columns.

Also the split (``modelbay.ml.splits``) and fingerprint (``modelbay.ml.fingerprint``) of the records read.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from modelbay.core.errors import BadInput
from modelbay.data.loaders import read_labelled_table, read_table
from modelbay.ml.fingerprint import fingerprint
from modelbay.ml.splits import split_records

ROWS = [{"review": "great phone", "stars": "5"}, {"review": "broke in a week", "stars": "1"}]


def _write_all(tmp_path):
    """The same two rows in every supported format."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "d.csv").write_text("review,stars\ngreat phone,5\nbroke in a week,1\n")
    (tmp_path / "d.tsv").write_text("review\tstars\ngreat phone\t5\nbroke in a week\t1\n")
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    (tmp_path / "d.ndjson").write_text("\n".join(json.dumps(r) for r in ROWS))
    (tmp_path / "d.json").write_text(json.dumps(ROWS))
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    return ["d.csv", "d.tsv", "d.jsonl", "d.ndjson", "d.json", "d.parquet"]


def test_every_format_reads_the_same_rows(tmp_path):
    for name in _write_all(tmp_path):
        rows = read_table(tmp_path / name)
        assert [r for _, r in rows] == ROWS, name
    assert [n for n, _ in read_table(tmp_path / "d.csv")] == [2, 3]  # file lines: the header is line 1
    assert [n for n, _ in read_table(tmp_path / "d.parquet")] == [1, 2]  # record numbers


def test_labelled_table_renames_the_chosen_columns_and_keeps_the_rest(tmp_path):
    (tmp_path / "d.csv").write_text("id,review,stars\n7,great phone,5\n")
    recs = read_labelled_table(tmp_path / "d.csv", input_field="text", target_field="label",
                               input_col="review", target_col="stars")
    assert recs == [{"id": "7", "text": "great phone", "label": "5"}]
    (tmp_path / "d.jsonl").write_text('{"text": "ok", "label": 3, "entities": []}\n')
    recs = read_labelled_table(tmp_path / "d.jsonl", input_field="text", target_field="entities")
    assert recs == [{"text": "ok", "label": 3, "entities": []}]  # an empty list is a valid truth (no entities)


def test_jsonl_keeps_line_separators_inside_strings(tmp_path):
    (tmp_path / "d.jsonl").write_text(json.dumps({"text": "a\u2028b", "label": "x"}, ensure_ascii=False) + "\n")
    assert read_table(tmp_path / "d.jsonl") == [(1, {"text": "a\u2028b", "label": "x"})]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n{"text": oops}\n', r"bad.jsonl:3: not valid JSON"),
    ("list.jsonl", '{"text": "a", "label": "x"}\n[1, 2]\n', r"list.jsonl:2: expected a JSON object, got list"),
    ("cols.csv", "message,intent\nhi,greet\n", r"cols.csv:1: no column 'text'; columns present: \['message', 'intent'\]"),
    ("row.jsonl", '{"text": "a", "label": "x"}\n{"text": "b"}\n', r"row.jsonl:2: missing field 'label'; fields present: \['text'\]"),
    ("empty_value.csv", "text,label\nhi,greet\n  ,greet\n", r"empty_value.csv:3: empty value in column 'text'"),
    ("nothing.jsonl", "\n\n", r"nothing.jsonl: the file holds no records"),
    ("header_only.csv", "text,label\n", r"header_only.csv: the file holds no records"),
    ("data.xlsx", "x", r"data.xlsx: unsupported file type '.xlsx'"),
    ("obj.json", '{"a": 1, "b": 2}', r"obj.json: expected a JSON list of objects, got dict"),
    ("cells.csv", "text,label\nhi,greet,extra\n", r"cells.csv:2: 3 cells for 2 columns"),
])
def test_errors_name_the_file_the_line_and_the_columns(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(BadInput, match=message):
        read_labelled_table(tmp_path / name, input_field="text", target_field="label")


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(BadInput, match="no such data file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "d.txt").write_text('{"text": "a"}\n')
    assert read_table(tmp_path / "d.txt", fmt="jsonl") == [(1, {"text": "a"})]
    with pytest.raises(BadInput, match="unknown table format 'xml'"):
        read_table(tmp_path / "d.txt", fmt="xml")


def test_path_fields_resolve_against_the_table_folder(tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "set.csv").write_text("audio,text\nclips/a.wav,hello\nclips/missing.wav,bye\n")
    with pytest.raises(BadInput, match=r"set.csv:3: audio file 'clips/missing.wav' not found"):
        read_labelled_table(tmp_path / "set.csv", input_field="audio", target_field="text", path_fields=("audio",))
    (tmp_path / "set.csv").write_text("audio,text\nclips/a.wav,hello\n")
    recs = read_labelled_table(tmp_path / "set.csv", input_field="audio", target_field="text", path_fields=("audio",))
    assert recs == [{"audio": str(tmp_path / "clips" / "a.wav"), "text": "hello"}]


def test_speech_recognition_reads_a_table_of_audio_paths(tmp_path):
    from modelbay.tasks.speech_recognition.task import SpeechRecognition

    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "set.jsonl").write_text('{"path": "a.wav", "transcript": "hello", "speaker": "s1"}\n')
    recs = SpeechRecognition.load_data(tmp_path / "set.jsonl", {"audio_col": "path", "label_col": "transcript"})
    assert recs == [{"audio": str(tmp_path / "a.wav"), "text": "hello", "speaker": "s1"}]
    assert SpeechRecognition.metric_family == "speech" and SpeechRecognition.target_field == "text"


def _records(n=100):
    return [{"i": i, "y": "abc"[i % 3] if i < 90 else "d"} for i in range(n)]


def test_split_is_deterministic_disjoint_and_complete():
    recs = _records()
    train, val, test = split_records(recs, (0.7, 0.2, 0.1), seed=5)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    assert sorted(r["i"] for part in (train, val, test) for r in part) == list(range(100))
    assert split_records(recs, (0.7, 0.2, 0.1), seed=5) == (train, val, test)
    assert split_records(recs, (0.7, 0.2, 0.1), seed=6) != (train, val, test)
    assert [r["i"] for r in train] == sorted(r["i"] for r in train)  # input order kept within a part


def test_split_stratifies():
    train, val = split_records(_records(), 0.2, seed=0, stratify_field="y")
    counts = {y: sum(r["y"] == y for r in val) for y in "abcd"}
    assert counts == {"a": 6, "b": 6, "c": 6, "d": 2} and len(train) == 80  # 20% of 30, 30, 30 and 10
    tiny = [{"y": "a"}, {"y": "a"}, {"y": "b"}]
    assert all(split_records(tiny, (0.5, 0.25, 0.25), stratify_field="y"))  # no part left empty
    with pytest.raises(BadInput, match="fractions"):
        split_records(_records(), (0.5, 0.2))
    with pytest.raises(BadInput, match="record 0: no 'label'"):
        split_records(_records(), 0.2, stratify_field="label")


def test_fingerprint_of_files_folders_and_records(tmp_path):
    (tmp_path / "d.csv").write_bytes(b"text,label\nhi,x\n")
    assert fingerprint(tmp_path / "d.csv") == hashlib.sha256(b"text,label\nhi,x\n").hexdigest()
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, order in ((a, ["x/1.txt", "y.txt"]), (b, ["y.txt", "x/1.txt"])):  # creation order does not matter
        for rel in order:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(rel)
    assert fingerprint(a) == fingerprint(b)
    (b / "y.txt").rename(b / "z.txt")
    assert fingerprint(a) != fingerprint(b)  # names count, not only bytes
    recs = [{"text": "a", "label": "x"}]
    assert fingerprint(recs) == fingerprint([{"label": "x", "text": "a"}]) != fingerprint([{"text": "a", "label": "y"}])
    with pytest.raises(BadInput, match="no such file or folder"):
        fingerprint(tmp_path / "missing")
