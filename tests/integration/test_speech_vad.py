"""Long audio gets the Silero VAD by default (security issue #10): silence costs seconds and yields no text.

Without it Whisper decodes every silent 30 s window and writes "You" into each; an hour of
silence tied the model up for over a minute. The VAD model ships inside faster-whisper.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

pytestmark = pytest.mark.models("speech-recognition")

RATE_HZ = 16_000


def flac(samples: np.ndarray) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, RATE_HZ, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="module")
def asr(loaded_task):
    return loaded_task("speech-recognition")


def test_the_silero_vad_model_ships_inside_faster_whisper():
    from pathlib import Path

    import faster_whisper
    from faster_whisper.vad import get_vad_model

    assert (Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx").is_file()
    assert get_vad_model() is not None  # loads from the package: nothing is downloaded


def test_two_minutes_of_silence_transcribe_to_nothing(asr):
    out = asr([asr.coerce({"audio": flac(np.zeros(120 * RATE_HZ, np.float32))})])[0]
    assert out.text == "" and out.segments == []
    assert out.duration_s == 120.0


def test_speech_after_a_minute_of_silence_keeps_its_words_and_its_time(asr):
    from test_speech_recognition import decode16k, librivox_dir, word_errors

    clip = min(librivox_dir().glob("*.wav"))
    speech = decode16k(clip.read_bytes())
    audio = np.concatenate([np.zeros(60 * RATE_HZ, np.float32), speech])
    out = asr([asr.coerce({"audio": flac(audio), "beam_size": 1})])[0]
    edits, words = word_errors(clip.with_suffix(".txt").read_text().strip(), out.text)
    assert edits / words <= 0.1, out.text
    assert out.segments and 59.0 <= out.segments[0].start <= 61.5, out.segments[0]


def test_vad_is_automatic_by_default_and_can_be_set_per_item():
    from modelbay.tasks.speech_recognition.task import VAD_AUTO_MIN_S, SpeechRecognition, _use_vad

    assert SpeechRecognition.coerce({"audio": b"x"}).vad_filter is None
    assert _use_vad(None, int((VAD_AUTO_MIN_S + 1) * RATE_HZ)) is True
    assert _use_vad(None, int((VAD_AUTO_MIN_S - 1) * RATE_HZ)) is False
    assert _use_vad(False, 3600 * RATE_HZ) is False and _use_vad(True, RATE_HZ) is True
