"""Audio decompression bombs (security issue #10): refused from the header, or while decoding in chunks.

The bombs here are the issue's shape (FLAC of multichannel 48 kHz silence, tiny on disk) scaled
down with a lower ``max_audio_s`` so they encode in a moment; ``bench/audio_bombs.py`` measures
the issue's own 2-hour file.
"""

from __future__ import annotations

import io
import struct
import tracemalloc

import numpy as np
import pytest

from modelbay.core.errors import BadInput, PayloadTooLarge
from modelbay.core.media import AUDIO_SAMPLE_RATE, decode_audio
from modelbay.core.settings import Limits

RATE_HZ = 48_000


def silent_flac(seconds: int, *, rate_hz: int = RATE_HZ, channels: int = 1) -> bytes:
    """FLAC of silence, written one second at a time so the test itself stays small in memory."""
    import soundfile as sf

    buf = io.BytesIO()
    second = np.zeros((rate_hz, channels), np.int16)
    with sf.SoundFile(buf, "w", samplerate=rate_hz, channels=channels, format="FLAC", subtype="PCM_16") as out:
        for _ in range(seconds):
            out.write(second)
    return buf.getvalue()


def without_length(flac: bytes) -> bytes:
    """The same FLAC with STREAMINFO's total-samples field zeroed: "length unknown", as a streamed encoder writes."""
    assert flac[:4] == b"fLaC"
    fields = 8 + 10  # "fLaC", the metadata block header, then min/max block and frame sizes
    packed = int.from_bytes(flac[fields:fields + 8], "big") & ~((1 << 36) - 1)  # total samples: the low 36 bits
    return flac[:fields] + packed.to_bytes(8, "big") + flac[fields + 8:]


def wav(seconds: float, *, rate_hz: int = 16_000, channels: int = 1, frequency_hz: float = 440.0) -> bytes:
    import soundfile as sf

    t = np.arange(int(seconds * rate_hz)) / rate_hz
    tone = (0.3 * np.sin(2 * np.pi * frequency_hz * t)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, np.repeat(tone[:, None], channels, axis=1), rate_hz, format="WAV")
    return buf.getvalue()


def peak_traced_bytes(fn) -> tuple[int, BaseException | None]:
    """Peak bytes Python and numpy allocated while ``fn`` ran, and what it raised."""
    tracemalloc.start()
    try:
        fn()
        raised = None
    except BaseException as exc:  # noqa: BLE001 - handed back to the test to check
        raised = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, raised


def test_a_flac_bomb_is_refused_from_its_header_before_decoding():
    # 4 channels x 48 kHz x 120 s of silence: 15 KB on disk, 92 MB as float32 samples
    bomb = silent_flac(120, channels=4)
    raw_bytes = 120 * RATE_HZ * 4 * 4
    assert len(bomb) < raw_bytes / 1000
    peak, raised = peak_traced_bytes(lambda: decode_audio(bomb, limits=Limits(max_audio_s=60)))
    assert isinstance(raised, PayloadTooLarge), raised
    assert raised.status_code == 413
    assert "120 s" in raised.message and "60 s" in raised.message and "MODELBAY_LIMIT_MAX_AUDIO_S" in raised.message
    assert peak < raw_bytes / 50, f"peak {peak} bytes: the bomb was decoded before it was refused"


def test_a_header_without_a_length_still_stops_at_the_limit_while_decoding():
    # ten minutes of 48 kHz audio whose header does not say how long it is: only the decoder can tell
    stream = without_length(silent_flac(600))
    peak, raised = peak_traced_bytes(lambda: decode_audio(stream, limits=Limits(max_audio_s=5)))
    assert isinstance(raised, PayloadTooLarge), raised
    full_decode_bytes = 600 * RATE_HZ * 4
    assert peak < full_decode_bytes / 20, f"peak {peak} bytes: decoding went on past the limit"
    assert "decoding stopped" in raised.message and "no length" in raised.message


def test_a_header_without_a_length_decodes_normally_under_the_limit():
    samples = decode_audio(without_length(silent_flac(3)))
    assert abs(len(samples) - 3 * AUDIO_SAMPLE_RATE) <= 2


def test_more_channels_than_the_cap_are_refused_naming_count_and_limit():
    with pytest.raises(PayloadTooLarge, match=r"9 channels; the limit is 8 \(MODELBAY_LIMIT_MAX_AUDIO_CHANNELS\)"):
        decode_audio(wav(0.2, channels=9))
    with pytest.raises(PayloadTooLarge, match="4 channels; the limit is 2"):
        decode_audio(silent_flac(1, channels=4), limits=Limits(max_audio_channels=2))
    assert decode_audio(wav(0.2, channels=8)).ndim == 1  # 7.1 is fine


def test_decoding_work_is_bounded_for_high_rates_and_many_channels():
    # 8 channels at 384 kHz: 2 s long, under the 10 s limit, but the decoding of 64 s of 48 kHz mono
    limits = Limits(max_audio_s=10, max_audio_channels=8)  # budget: 10 s x 8 channels x 48 kHz
    with pytest.raises(PayloadTooLarge, match=r"2 s x 8 channels x 384000 Hz = 6 M samples.*the limit is 4 M"):
        decode_audio(silent_flac(2, rate_hz=384_000, channels=8), limits=limits)
    assert len(decode_audio(silent_flac(2, rate_hz=192_000, channels=8), limits=limits)) == 2 * AUDIO_SAMPLE_RATE


def test_a_bogus_sample_rate_in_the_header_is_refused():
    data = bytearray(wav(0.2))
    assert data[:4] == b"RIFF" and data[12:16] == b"fmt "
    struct.pack_into("<II", data, 24, 10_000_000, 10_000_000 * 2)  # sample rate and byte rate of a 16-bit mono WAV
    with pytest.raises(PayloadTooLarge, match="10000000 Hz"):
        decode_audio(bytes(data))


def test_chunked_decoding_resamples_like_a_whole_file_resample():
    # 44.1 kHz stereo over several read blocks: no clicks or gaps where the chunks meet
    from scipy.signal import resample_poly

    seconds, rate_hz = 4, 44_100
    samples = decode_audio(wav(seconds, rate_hz=rate_hz, channels=2, frequency_hz=300.0))
    t = np.arange(seconds * rate_hz) / rate_hz
    reference = resample_poly(0.3 * np.sin(2 * np.pi * 300.0 * t), 160, 441)
    assert abs(len(samples) - len(reference)) <= 2
    middle = slice(1000, len(reference) - 1000)  # both filters ramp in and out at the ends
    assert np.max(np.abs(samples[middle] - reference[middle])) < 0.01


def test_undecodable_audio_and_images_never_show_object_reprs():
    from modelbay.core.media import decode_image

    for decode, data in ((decode_audio, b"not audio at all " * 20), (decode_image, b"not an image at all")):
        with pytest.raises(BadInput, match="cannot decode") as info:
            decode(data)
        assert "object at 0x" not in str(info.value), str(info.value)
