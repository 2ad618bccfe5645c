"""Data roots and data errors: a server job's loaders read only inside the roots and quote nothing from the file.

Every file here holds SECRET; in a confined process (what a server job's trainer is) no message may contain it.
"""

from __future__ import annotations

import json
import os

import pytest

from modelbay.core.errors import BadInput
from modelbay.core.settings import Settings, get_settings
from modelbay.data.columns import label_values, read_columns, select_columns
from modelbay.data.folders import read_image_folder
from modelbay.data.loaders import read_labelled_table
from modelbay.data.roots import DataOutsideRoots, resolve_in_roots
from modelbay.ml.splits import validation_warnings
from modelbay.tasks.ner.conll import load_ner_records

SECRET = "SECRETzq7"


@pytest.fixture
def confined(monkeypatch, tmp_path):
    """This process reads data as a server job does: confined to tmp_path/root."""
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("MODELBAY_DATA_DIRS", str(root))
    monkeypatch.setenv("MODELBAY_DATA_CONFINED", "1")
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


def _message(exc_info) -> str:
    return str(exc_info.value)


# -- a server job's errors quote nothing from the file -----------------------------------------------------------
def test_a_missing_column_names_the_file_but_not_the_header(confined):
    path = confined / "t.csv"
    path.write_text(f"{SECRET}_a,{SECRET}_b\n1,2\n")
    with pytest.raises(BadInput) as exc:
        read_labelled_table(path, input_field="text", target_field="label", target_col="zz")
    assert SECRET not in _message(exc) and "t.csv:1" in _message(exc) and "'text'" in _message(exc)
    assert "2 columns present" in _message(exc)


@pytest.mark.parametrize("text, needle", [
    (f"Tim B-PER\n{SECRET}\n", "t.conll:2: expected 'token<TAB>tag'"),
    (f"Tim B-PER\n{SECRET} X-{SECRET}\n", "t.conll:2: bad tag"),
])
def test_a_bad_conll_line_is_named_by_number_not_quoted(confined, text, needle):
    path = confined / "t.conll"
    path.write_text(text)
    with pytest.raises(BadInput) as exc:
        load_ner_records(path, "conll")
    assert needle in _message(exc) and SECRET not in _message(exc)


@pytest.mark.parametrize("line", [f'["{SECRET}"]', json.dumps({"text": "a", "entities": [SECRET]})])
def test_a_bad_ner_jsonl_line_is_not_quoted(confined, line):
    path = confined / "t.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(BadInput) as exc:
        load_ner_records(path, "jsonl")
    assert "t.jsonl:1" in _message(exc) and SECRET not in _message(exc)


def test_word_tag_errors_do_not_quote_the_token(confined):
    path = confined / "t.txt"
    path.write_text(f"江/nr {SECRET}\n")
    with pytest.raises(BadInput) as exc:
        load_ner_records(path, "word/tag")
    assert "t.txt:1: token 2 is not word/tag" in _message(exc) and SECRET not in _message(exc)


def test_tabular_errors_name_rows_and_column_numbers_only(confined):
    wide = confined / "wide.csv"
    wide.write_text(f"a,b\n1,2\n3,4,{SECRET}\n")  # pyarrow's own message quotes the row
    with pytest.raises(BadInput) as exc:
        read_columns(wide)
    assert "line 3: 3 fields, the header has 2" in _message(exc) and SECRET not in _message(exc)

    table_path = confined / "t.csv"
    table_path.write_text(f"{SECRET},y\n1,{SECRET}\n2,3\n")
    table = read_columns(table_path)
    with pytest.raises(BadInput) as exc:
        select_columns(table, {"label_col": "zz"})
    assert "'zz'" in _message(exc) and "2 columns" in _message(exc) and SECRET not in _message(exc)
    with pytest.raises(BadInput) as exc:
        label_values(table, "y", "regression")
    assert "line 2" in _message(exc) and SECRET not in _message(exc)


def test_class_names_are_not_shown_to_a_job(confined):
    from PIL import Image

    (confined / "imgs" / SECRET).mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(confined / "imgs" / SECRET / "a.png")
    with pytest.raises(BadInput) as exc:
        read_image_folder(confined / "imgs")
    assert "found 1 class;" in _message(exc) and SECRET not in _message(exc)


def test_the_cli_still_sees_the_columns_present(tmp_path):
    """Outside a server job the caller reads its own file: naming the columns is help, not disclosure."""
    path = tmp_path / "t.csv"
    path.write_text("message,intent\nhi,greet\n")
    with pytest.raises(BadInput, match=r"no column 'text'; columns present: \['message', 'intent'\]"):
        read_labelled_table(path, input_field="text", target_field="label")


# -- a server job's loaders read only inside the roots -----------------------------------------------------------
def test_a_table_cannot_point_a_job_at_files_outside_the_roots(confined, tmp_path):
    outside = tmp_path / f"{SECRET}.wav"
    outside.write_bytes(b"RIFF")
    (confined / "set.csv").write_text(f"audio,text\n{outside},hello\n")
    with pytest.raises(DataOutsideRoots) as exc:
        read_labelled_table(confined / "set.csv", input_field="audio", target_field="text", path_fields=("audio",))
    assert exc.value.status_code == 403 and "set.csv:2" in _message(exc) and SECRET not in _message(exc)


def test_a_symlinked_file_in_a_data_folder_is_refused_in_a_job(confined, tmp_path):
    (tmp_path / "outside.conll").write_text("Tim B-PER\n")
    (confined / "ner").mkdir()
    (confined / "ner" / "a.conll").symlink_to(tmp_path / "outside.conll")
    with pytest.raises(DataOutsideRoots):
        load_ner_records(confined / "ner" / "a.conll", "conll")


def test_a_job_cannot_fine_tune_from_a_server_directory_outside_the_roots(confined, tmp_path):
    from modelbay.tasks.text_classification.finetune import resolve_base

    (tmp_path / "model").mkdir()
    for base in (str(tmp_path / "model"), "/etc", "~"):
        with pytest.raises(DataOutsideRoots):
            resolve_base(base)


def test_resolve_in_roots(tmp_path):
    root, sibling = tmp_path / "data", tmp_path / "data2"
    root.mkdir()
    sibling.mkdir()
    (root / "link").symlink_to(sibling)
    assert resolve_in_roots("a.csv", [root]) == root / "a.csv"  # relative: from the first root
    assert resolve_in_roots(str(root / "sub" / ".." / "a.csv"), [root]) == root / "a.csv"
    for escape in ("../data2/a.csv", str(sibling / "a.csv"), "link/a.csv", "/etc/passwd", "/no/such/file"):
        with pytest.raises(DataOutsideRoots, match="outside the folders this server trains from"):
            resolve_in_roots(escape, [root])


def test_data_dirs_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELBAY_HOME", str(tmp_path))
    monkeypatch.delenv("MODELBAY_DATA_DIRS", raising=False)
    assert Settings().data_dirs == [tmp_path / "data"]
    monkeypatch.setenv("MODELBAY_DATA_DIRS", os.pathsep.join(["/srv/a", "/srv/b"]))
    assert [str(p) for p in Settings().data_dirs] == ["/srv/a", "/srv/b"]
    monkeypatch.setenv("MODELBAY_DATA_DIRS", json.dumps(["/srv/with:colon"]))
    assert [str(p) for p in Settings().data_dirs] == ["/srv/with:colon"]


# -- small validation sets -----------------------------------------------------------------------------------------
def test_a_small_validation_set_gets_a_warning():
    (three,) = validation_warnings(3, "rows")
    assert "only 3 rows" in three and "±0.57" in three and "modelbay eval" in three
    assert "no rows were held out" in validation_warnings(0, "rows")[0]
    assert validation_warnings(30) == []
