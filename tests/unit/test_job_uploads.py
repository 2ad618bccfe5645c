"""Uploaded training data: file names made safe, .zip archives extracted without escaping or exploding."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from modelbay.core.errors import PayloadTooLarge
from modelbay.serve.config import JobsConfig
from modelbay.serve.job_uploads import BadUpload, Upload, safe_filename, store_upload


def _zip(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)  # keeps the name as given ("../x", "/x")
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def _store(tmp_path, filename: str, data: bytes, **limits):
    config = JobsConfig(data_dirs=[str(tmp_path)], **limits)
    return store_upload(Upload(filename, io.BytesIO(data)), tmp_path / "uploads" / "job_1", config)


def test_file_names_are_made_safe():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("My Data (v2).CSV") == "My_Data_v2_.CSV"
    assert safe_filename("..") == "data" and safe_filename("") == "data"
    assert safe_filename("x" * 300 + ".conll").endswith(".conll")


def test_a_table_is_stored_as_it_came(tmp_path):
    stored = _store(tmp_path, "tickets.csv", b"text,label\nhi,greet\n")
    assert stored.data == tmp_path / "uploads" / "job_1" / "tickets.csv"
    assert stored.data.read_bytes() == b"text,label\nhi,greet\n"


def test_a_zipped_folder_is_extracted_and_its_top_folder_is_the_data(tmp_path):
    stored = _store(tmp_path, "photos.zip", _zip({"photos/cat/1.png": b"a", "photos/dog/2.png": b"b",
                                                  "__MACOSX/photos/._1.png": b"junk"}))
    assert stored.data == stored.folder / "data" / "photos"
    assert sorted(p.name for p in stored.data.iterdir()) == ["cat", "dog"]
    assert not (stored.folder / "photos.zip").exists() and not (stored.folder / "data" / "__MACOSX").exists()


@pytest.mark.parametrize("members, symlinks, needle", [
    ({"../evil.csv": b"x"}, None, "climbs out of the archive"),
    ({"ok/../../evil.csv": b"x"}, None, "climbs out of the archive"),
    ({"/tmp/evil.csv": b"x"}, None, "absolute path"),
    ({"C:/evil.csv": b"x"}, None, "absolute path"),
    ({"a/x.csv": b"x"}, {"a/link": "/etc/passwd"}, "is a link or a device"),
])
def test_unsafe_members_are_refused_and_nothing_is_left(tmp_path, members, symlinks, needle):
    with pytest.raises(BadUpload, match=needle):
        _store(tmp_path, "data.zip", _zip(members, symlinks))
    assert not (tmp_path / "evil.csv").exists() and not (tmp_path / "uploads" / "evil.csv").exists()
    assert not (tmp_path / "uploads" / "job_1").exists()


def test_zip_bombs_stop_at_the_caps(tmp_path):
    zeros = _zip({"big.csv": b"0" * 100_000})
    assert len(zeros) < 2_000  # what is counted is the bytes extracted, not the archive's size
    with pytest.raises(PayloadTooLarge, match="more than 10000 bytes"):
        _store(tmp_path, "bomb.zip", zeros, upload_max_unzipped_bytes=10_000)
    with pytest.raises(PayloadTooLarge, match="3 files, more than the 2"):
        _store(tmp_path, "many.zip", _zip({"a": b"1", "b": b"2", "c": b"3"}), upload_max_files=2)
    assert not (tmp_path / "uploads" / "job_1").exists()


def test_a_file_that_is_not_a_zip_is_a_clear_error(tmp_path):
    with pytest.raises(BadUpload, match="not a readable .zip archive"):
        _store(tmp_path, "data.zip", b"text,label\n")
