"""Streaming audio decoders that refuse decompression bombs before they cost memory.

A 2 MB FLAC of silence can hold hours of 8-channel 48 kHz audio: decoding it whole
takes gigabytes. So both decoders read the header first and refuse what it says is
over the limits (seconds, channels, sample rate, and the decoding work seconds x
channels x rate), then decode in bounded chunks, mixing each chunk down to mono and
resampling it to the output rate as it comes, and stop as soon as a running total
passes a limit (a header can lie or leave the length out). Peak memory is then about
the limit's worth of output samples (16 kHz float32), whatever the file claims.

``core/media.py:decode_audio`` is the entry point; it turns the decoders' own
errors into ``BadInput``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import NoReturn

from .errors import PayloadTooLarge
from .settings import Limits

#: rates above this are not real recordings (the highest common studio rate is 384 kHz);
#: a bogus 10 MHz header would otherwise make a short "duration" hide billions of frames
MAX_SAMPLE_RATE_HZ = 384_000
#: the rate the decoding-work budget is counted at (see AudioBudget)
RAW_BUDGET_RATE_HZ = 48_000
#: frames read per soundfile chunk: 64 Ki frames x 8 channels x 4 bytes = 2 MiB
READ_BLOCK_FRAMES = 65_536
#: libsndfile reports SF_COUNT_MAX frames when a FLAC header leaves the length out
UNKNOWN_FRAMES = 2**62


@dataclass(frozen=True)
class AudioHeader:
    """What a file says about itself before any sample is decoded."""

    rate_hz: int | None  # None: the header does not say
    channels: int | None
    duration_s: float | None


class AudioBudget:
    """Enforces the audio limits: once on the header, then on every decoded chunk.

    Besides seconds and channels it bounds the decoding work, seconds x channels x rate: an
    hour of 8-channel 384 kHz audio is an hour long but costs 64 times the decoding of an hour
    of 48 kHz mono. The budget is ``max_audio_s`` of ``max_audio_channels`` at 48 kHz, so every
    rate up to 48 kHz gets the full hour on every allowed channel count; higher rates get less time.
    """

    def __init__(self, field: str, limits: Limits) -> None:
        self.field = field
        self.limits = limits
        self.raw_budget = limits.max_audio_s * limits.max_audio_channels * RAW_BUDGET_RATE_HZ
        self.decoded_s = 0.0
        self.decoded_raw = 0
        self.header_s: float | None = None

    def check_header(self, header: AudioHeader) -> None:
        self.header_s = header.duration_s
        self.check_format(header.rate_hz, header.channels)
        if header.duration_s is None:
            return
        if header.duration_s > self.limits.max_audio_s:
            self._refuse(f"audio is {header.duration_s:.0f} s long (from its header, before decoding)")
        if header.rate_hz and header.channels:
            raw = header.duration_s * header.rate_hz * header.channels
            if raw > self.raw_budget:
                self._refuse_work(f"audio is {header.duration_s:.0f} s x {header.channels} channels x "
                                  f"{header.rate_hz} Hz = {raw / 1e6:.0f} M samples to decode (from its header)")

    def check_format(self, rate_hz: int | None, channels: int | None) -> None:
        """Refuse too many channels or an impossible rate; None (not in the header) passes until a frame says."""
        if channels is not None and channels > self.limits.max_audio_channels:
            raise PayloadTooLarge(
                f"{self.field}: audio has {channels} channels; the limit is {self.limits.max_audio_channels}"
                " (MODELBAY_LIMIT_MAX_AUDIO_CHANNELS)",
                hint="mix it down before sending, e.g. `ffmpeg -i in.flac -ac 1 out.flac`",
            )
        if rate_hz is not None and not 0 < rate_hz <= MAX_SAMPLE_RATE_HZ:
            raise PayloadTooLarge(
                f"{self.field}: audio sample rate is {rate_hz} Hz; it must be between 1 and {MAX_SAMPLE_RATE_HZ} Hz",
                hint="resample it, e.g. `ffmpeg -i in.wav -ar 16000 out.wav`",
            )

    def count(self, frames: int, rate_hz: int, channels: int) -> None:
        """Add ``frames`` decoded frames; refuse as soon as the running totals pass a limit (headers can lie)."""
        self.decoded_s += frames / rate_hz
        self.decoded_raw += frames * channels
        said = "no length" if self.header_s is None else f"{self.header_s:.0f} s"
        if self.decoded_s > self.limits.max_audio_s:
            self._refuse(f"audio runs past {self.limits.max_audio_s:.0f} s (decoding stopped there; its header said {said})")
        if self.decoded_raw > self.raw_budget:
            self._refuse_work(f"audio needs more than {self.raw_budget / 1e6:.0f} M samples decoded (decoding stopped "
                              f"there at {self.decoded_s:.0f} s x {channels} channels x {rate_hz} Hz)")

    def _refuse(self, what: str) -> NoReturn:
        raise PayloadTooLarge(
            f"{self.field}: {what}; the limit is {self.limits.max_audio_s:.0f} s (MODELBAY_LIMIT_MAX_AUDIO_S)",
            hint="cut it into shorter pieces",
        )

    def _refuse_work(self, what: str) -> NoReturn:
        raise PayloadTooLarge(
            f"{self.field}: {what}; the limit is {self.raw_budget / 1e6:.0f} M = {self.limits.max_audio_s:.0f} s x "
            f"{self.limits.max_audio_channels} channels x {RAW_BUDGET_RATE_HZ} Hz (MODELBAY_LIMIT_MAX_AUDIO_S x "
            "MODELBAY_LIMIT_MAX_AUDIO_CHANNELS x 48 kHz)",
            hint="resample it to 16 kHz mono, e.g. `ffmpeg -i in.flac -ar 16000 -ac 1 out.flac`, or cut it shorter",
        )


class MonoResampler:
    """Streaming resampler for mono float32 chunks (libswresample keeps the filter state between chunks)."""

    def __init__(self, in_rate_hz: int, out_rate_hz: int) -> None:
        import av

        self.in_rate_hz = in_rate_hz
        self._resampler = None
        if in_rate_hz != out_rate_hz:
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=out_rate_hz)

    def push(self, mono):
        import av

        if self._resampler is None:
            return mono
        frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self.in_rate_hz
        return _frames_to_samples(self._resampler.resample(frame))

    def flush(self):
        return _frames_to_samples(self._resampler.resample(None) if self._resampler is not None else [])


def _frames_to_samples(frames):
    import numpy as np

    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]) if frames else np.zeros(0, np.float32)


def decode_with_soundfile(data: bytes, budget: AudioBudget, out_rate_hz: int):
    """Mono float32 at ``out_rate_hz`` via libsndfile, or None when PyAV should try instead.

    None for formats libsndfile does not read, for headers without a length (libsndfile
    then fails near the end; PyAV does not need the length) and for mid-file errors (as
    before chunking, PyAV gets a second try). Limit errors propagate.
    """
    import soundfile as sf

    try:
        audio = sf.SoundFile(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - libsndfile raises many error types for formats it lacks; PyAV tries next
        return None
    with audio:
        if audio.frames >= UNKNOWN_FRAMES:
            return None
        budget.check_header(AudioHeader(audio.samplerate, audio.channels, audio.frames / max(audio.samplerate, 1)))
        resampler = MonoResampler(audio.samplerate, out_rate_hz)
        sink = SampleSink(_expected_samples(budget.header_s, out_rate_hz, budget.limits))
        try:
            while True:
                block = audio.read(READ_BLOCK_FRAMES, dtype="float32", always_2d=True)
                if not len(block):
                    break
                budget.count(len(block), audio.samplerate, audio.channels)
                sink.append(resampler.push(block[:, 0] if block.shape[1] == 1 else block.mean(axis=1)))
        except sf.LibsndfileError:
            return None
        sink.append(resampler.flush())
    return sink.result()


def decode_with_av(data: bytes, budget: AudioBudget, out_rate_hz: int):
    """Mono float32 at ``out_rate_hz`` via FFmpeg (MP3, AAC, Opus, WebM…), frame by frame.

    Raises LookupError when the file has no audio stream, FFmpeg's errors when it cannot decode.
    """
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise LookupError("the file has no audio stream")
        budget.check_header(_av_header(container, stream))
        resampler = av.AudioResampler(format="flt", layout="mono", rate=out_rate_hz)
        sink = SampleSink(_expected_samples(budget.header_s, out_rate_hz, budget.limits))
        for frame in container.decode(stream):
            budget.check_format(frame.sample_rate, frame.layout.nb_channels)  # a stream may change mid-way
            budget.count(frame.samples, frame.sample_rate, frame.layout.nb_channels)
            sink.append(_frames_to_samples(resampler.resample(frame)))
        sink.append(_frames_to_samples(resampler.resample(None)))
    return sink.result()


def _av_header(container, stream) -> AudioHeader:
    context = stream.codec_context
    if stream.duration is not None and stream.time_base is not None:
        duration_s = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration_s = container.duration / 1_000_000  # AV_TIME_BASE
    else:
        duration_s = None
    return AudioHeader(context.sample_rate or None, context.channels or None, duration_s)


class SampleSink:
    """Collects output chunks into one float32 array, written in place when the header gave the length.

    With a length the peak is the output itself, not the chunks plus their concatenation; a header
    that undercounts only costs the fallback to concatenation, never correctness.
    """

    def __init__(self, expected_samples: int | None) -> None:
        import numpy as np

        self._buffer = None if expected_samples is None else np.empty(expected_samples + 4096, np.float32)
        self._filled = 0
        self._chunks: list = []

    def append(self, chunk) -> None:
        end = self._filled + len(chunk)
        if self._buffer is not None and end <= len(self._buffer):
            self._buffer[self._filled:end] = chunk
            self._filled = end
            return
        if self._buffer is not None:  # the header undercounted: keep what is there, collect the rest
            self._chunks.append(self._buffer[: self._filled])
            self._buffer = None
        self._chunks.append(chunk)

    def result(self):
        import numpy as np

        if self._buffer is not None:
            return self._buffer[: self._filled]
        return np.concatenate(self._chunks).astype(np.float32, copy=False) if self._chunks else np.zeros(0, np.float32)


def _expected_samples(duration_s: float | None, out_rate_hz: int, limits: Limits) -> int | None:
    if duration_s is None:
        return None
    return int(min(duration_s, limits.max_audio_s) * out_rate_hz) + 1
