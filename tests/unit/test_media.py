import base64
import io
import struct
import zlib

import numpy as np
import pytest

from modelbay.core.errors import BadInput, PayloadTooLarge
from modelbay.core.media import decode_audio, decode_image, media_bytes
from modelbay.core.settings import Limits


def _png(width=8, height=6, color=(255, 0, 0)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: the decompression-bomb shape."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def _wav(seconds=0.5, rate=8000, channels=1) -> bytes:
    import soundfile as sf

    t = np.linspace(0, seconds, int(seconds * rate), endpoint=False)
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    buf = io.BytesIO()
    sf.write(buf, data, rate, format="WAV")
    return buf.getvalue()


def test_media_bytes_accepts_raw_base64_and_data_urls():
    raw = _png()
    b64 = base64.b64encode(raw).decode()
    assert media_bytes(raw, kind="image", field="image", allow_paths=False) == raw
    assert media_bytes(b64, kind="image", field="image", allow_paths=False) == raw
    assert media_bytes("data:image/png;base64," + b64, kind="image", field="image", allow_paths=False) == raw


def test_paths_only_when_allowed(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(_png())
    assert media_bytes(str(path), kind="image", field="image", allow_paths=True) == path.read_bytes()
    with pytest.raises(BadInput, match="base64"):  # the server never reads its own disk for a client
        media_bytes(str(path), kind="image", field="image", allow_paths=False)


def test_bad_base64_and_empty_input_are_named():
    with pytest.raises(BadInput, match="image: not valid base64"):
        media_bytes("not base64!!", kind="image", field="image", allow_paths=False)
    with pytest.raises(BadInput, match="empty"):
        media_bytes(b"", kind="image", field="image", allow_paths=False)


def test_oversized_media_is_refused():
    limits = Limits(max_media_bytes=10)
    with pytest.raises(PayloadTooLarge):
        media_bytes(b"x" * 11, kind="audio", field="audio", allow_paths=False, limits=limits)


def test_decode_image_converts_to_rgb_and_refuses_bombs_and_garbage():
    img = decode_image(_png(8, 6))
    assert img.mode == "RGB" and img.size == (8, 6)
    with pytest.raises(PayloadTooLarge, match="pixels"):
        decode_image(_png_header_claiming(100_000, 100_000))
    with pytest.raises(BadInput, match="cannot decode image"):
        decode_image(b"definitely not an image")


def test_decode_audio_resamples_to_16k_mono():
    samples = decode_audio(_wav(seconds=0.5, rate=8000, channels=2))
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - 8000) <= 2


def test_decode_audio_handles_compressed_formats():
    import soundfile as sf

    t = np.linspace(0, 1, 22050, endpoint=False)
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * 300 * t), 22050, format="FLAC")
    assert abs(len(decode_audio(buf.getvalue())) - 16000) <= 2
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * 300 * t), 22050, format="OGG")
    assert abs(len(decode_audio(buf.getvalue())) - 16000) <= 2


def test_decode_audio_rejects_garbage_and_overlong_audio():
    with pytest.raises(BadInput, match="cannot decode audio"):
        decode_audio(b"RIFF....not really a wav")
    with pytest.raises(PayloadTooLarge, match="limit"):
        decode_audio(_wav(seconds=2.0), limits=Limits(max_audio_s=1.0))


def test_a_missing_file_is_named_as_missing_where_paths_are_allowed(tmp_path, monkeypatch):
    missing = str(tmp_path / "nothere.jpg")
    with pytest.raises(BadInput, match="no such file") as info:
        media_bytes(missing, kind="image", field="image", allow_paths=True)
    assert repr(missing) in info.value.message and "base64" not in info.value.message
    with pytest.raises(BadInput, match="no such file: 'nothere.jpg'"):
        media_bytes("nothere.jpg", kind="image", field="image", allow_paths=True)


def test_the_server_side_keeps_saying_base64_without_looking_at_the_disk(monkeypatch):
    import os

    probed = []
    real_exists = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda p: probed.append(p) or real_exists(p))
    with pytest.raises(BadInput, match="not valid base64") as info:
        media_bytes("nothere.jpg", kind="image", field="image", allow_paths=False)
    assert "no such file" not in str(info.value)
    assert probed == []


def test_the_cli_says_a_missing_image_does_not_exist():
    from typer.testing import CliRunner

    from modelbay.cli import app

    result = CliRunner().invoke(app, ["run", "image-classification", "nothere.jpg"])
    assert result.exit_code != 0
    assert "no such file: 'nothere.jpg'" in result.output and "not valid base64" not in result.output
