"""Speech recognition: Whisper base via faster-whisper (CTranslate2, int8 on CPU), 99 languages.

Audio of any length: Whisper reads 30 s windows and faster-whisper slides them over
the whole file, so segment timestamps are absolute. Each item is decoded on its
own (Whisper's decoding depends on the item alone), which is also what makes a
batch of N give exactly the answers of N batches of one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...core.errors import BadInput
from ...core.media import AUDIO_SAMPLE_RATE, decode_audio, media_bytes
from ...core.protocols import Evaluable, Streaming
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput

#: audio longer than this gets the Silero VAD unless the input says otherwise: Whisper runs every
#: 30 s window even when it is silent, so below one window there is nothing to skip
VAD_AUTO_MIN_S = 30.0
#: seed for Whisper's temperature fallback (it samples when greedy decoding looks wrong),
#: reset before every item so answers do not depend on what ran before
FALLBACK_SEED = 0


class SpeechRecognitionInput(TaskInput):
    # bytes travel in JSON as base64 both ways, so a dumped input validates back to the same audio
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    audio: bytes | str = Field(..., description="WAV/FLAC/OGG/MP3 bytes, or a base64 string of them (a data: URL is fine)")
    language: str | None = Field(
        None, max_length=16, description="spoken language as an ISO code ('en', 'zh', …); None or 'auto' detects it"
    )
    task: Literal["transcribe", "translate"] = Field(
        "transcribe", description="'translate' writes English text whatever the spoken language"
    )
    beam_size: int = Field(5, ge=1, le=10, description="beam search width; 1 is greedy (faster, a little less accurate)")
    word_timestamps: bool = Field(False, description="also return each word with its start/end time")
    vad_filter: bool | None = Field(
        None, description="skip non-speech with the Silero VAD before decoding; None (the default) turns it on for audio "
        f"longer than {VAD_AUTO_MIN_S:.0f} s, so an hour of silence costs seconds, not a minute of decoding",
    )
    initial_prompt: str | None = Field(
        None, max_length=1000, description="text that precedes the audio: names, jargon or the script/style to use"
    )

    @field_validator("language")
    @classmethod
    def _normalise_language(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        return None if value in ("", "auto") else value


class Word(BaseModel):
    start: float = Field(..., description="seconds from the start of the audio")
    end: float
    word: str
    probability: float


class Segment(BaseModel):
    start: float = Field(..., description="seconds from the start of the audio")
    end: float = Field(..., description="seconds from the start of the audio")
    text: str
    avg_logprob: float = Field(..., description="mean token log-probability; below about -1 the text is unreliable")
    no_speech_prob: float = Field(..., description="probability that the window holds no speech")
    words: list[Word] | None = Field(None, description="with word_timestamps=true")


class SpeechRecognitionOutput(TaskOutput):
    text: str = Field(..., description="the whole transcript")
    language: str = Field(..., description="ISO code of the spoken language (given or detected)")
    language_probability: float = Field(..., description="detection confidence; 1.0 when the language was given")
    duration_s: float = Field(..., description="length of the audio in seconds")
    segments: list[Segment] = Field(..., description="pieces of the transcript with their times, in order")

    def summary(self) -> str:
        """The transcript; with several segments, one timestamped line each."""
        about = f"({self.language} {self.language_probability:.2f}, {self.duration_s:.1f} s)"
        if len(self.segments) <= 1:
            return f"{self.text}  {about}"
        return "\n".join([about, *(f"[{_clock(s.start)} → {_clock(s.end)}] {s.text}" for s in self.segments)])


def _clock(seconds: float) -> str:
    """``75.5`` -> ``'01:15.50'``

    >>> _clock(75.5)
    '01:15.50'
    """
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:05.2f}"


def tone_wav(seconds: float, frequency_hz: float, *, sample_rate: int = AUDIO_SAMPLE_RATE, fmt: str = "WAV") -> bytes:
    """A short test signal (a tone with a slow tremolo) encoded as WAV/FLAC bytes; used by ``examples()``."""
    import io

    import numpy as np
    import soundfile as sf

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    signal = 0.3 * np.sin(2 * np.pi * frequency_hz * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    buf = io.BytesIO()
    sf.write(buf, signal.astype(np.float32), sample_rate, format=fmt)
    return buf.getvalue()


@register
class SpeechRecognition(Task[SpeechRecognitionInput, SpeechRecognitionOutput], Streaming, Evaluable):
    name = "speech-recognition"
    aliases = ("asr", "automatic-speech-recognition", "transcribe", "transcription")
    description = "Speech to text with timestamps, any length, 99 languages incl. English and Chinese (Whisper base)"
    Input = SpeechRecognitionInput
    Output = SpeechRecognitionOutput
    default_model = "whisper-base"
    primary_field = "audio"
    media_fields: ClassVar[dict[str, str]] = {"audio": "audio"}
    metric_family = "speech"
    target_field = "text"
    #: items are decoded one after another (see the module docstring)
    batchable: ClassVar[bool] = False

    @classmethod
    def examples(cls) -> list:
        """Two short tones built in code (WAV, and FLAC at 22.05 kHz); the options keep them quick to decode."""
        return [
            {"audio": tone_wav(1.5, 440.0), "vad_filter": True},
            {"audio": tone_wav(1.0, 220.0, sample_rate=22_050, fmt="FLAC"), "language": "en", "beam_size": 1},
        ]

    @classmethod
    def load_data(cls, path, options):
        """A table of audio files (paths relative to the table's folder) and transcripts.

        Columns ``audio`` and ``text`` by default; ``audio_col`` (or ``text_col``) and ``label_col`` rename them.
        """
        from ...data.loaders import read_labelled_table

        return read_labelled_table(path, input_field="audio", target_field="text",
                                   input_col=options.get("audio_col") or options.get("text_col"),
                                   target_col=options.get("label_col"), fmt=options.get("format"), path_fields=("audio",))

    def setup(self, model, device="cpu") -> None:
        import os

        from faster_whisper import WhisperModel

        from ...core.settings import get_settings

        super().setup(model, device)
        opts = model.spec.options
        threads = get_settings().num_threads or os.cpu_count() or 1
        self.whisper = WhisperModel(
            str(model.path),
            device="cuda" if str(device).startswith("cuda") else "cpu",
            compute_type=opts.get("compute_type", "int8"),
            cpu_threads=threads,
            local_files_only=True,
        )
        self.languages = frozenset(self.whisper.supported_languages)

    def preprocess(self, items: list[SpeechRecognitionInput]) -> list[tuple[Any, SpeechRecognitionInput]]:
        decoded = []
        for item in items:
            if item.language is not None and item.language not in self.languages:
                raise BadInput(
                    f"language: {item.language!r} is not a language Whisper knows",
                    hint=f"use an ISO code such as 'en' or 'zh', or leave it out to detect it; known: {', '.join(sorted(self.languages))}",
                )
            data = media_bytes(item.audio, kind="audio", field="audio", allow_paths=False)
            decoded.append((decode_audio(data, field="audio"), item))
        return decoded

    def _forward(self, batch: list[tuple[Any, SpeechRecognitionInput]]) -> list[SpeechRecognitionOutput]:
        from ...core.cancel import row_cancelled

        # in the server, an item whose request is gone (timed out, disconnected) is skipped: its empty
        # output is never delivered
        return [_skipped(samples, item) if row_cancelled(row) else self._transcribe(samples, item, row)
                for row, (samples, item) in enumerate(batch)]

    def postprocess(self, raw, items):
        return raw

    def stream(self, item: SpeechRecognitionInput) -> Iterator[str]:
        """Yield one ``[mm:ss.ss → mm:ss.ss] text`` line per segment as soon as it is decoded."""
        ((samples, item),) = self.preprocess([item])
        segments, _ = self._run(samples, item)
        for i, seg in enumerate(segments):
            yield f"{'' if i == 0 else chr(10)}[{_clock(seg.start)} → {_clock(seg.end)}] {seg.text.strip()}"

    # -- internals -------------------------------------------------------------
    def _run(self, samples, item: SpeechRecognitionInput):
        import ctranslate2

        ctranslate2.set_random_seed(FALLBACK_SEED)
        return self.whisper.transcribe(
            samples,
            language=item.language,
            task=item.task,
            beam_size=item.beam_size,
            word_timestamps=item.word_timestamps,
            vad_filter=_use_vad(item.vad_filter, len(samples)),
            initial_prompt=item.initial_prompt,
        )

    def _transcribe(self, samples, item: SpeechRecognitionInput, row: int = 0) -> SpeechRecognitionOutput:
        from ...core.cancel import row_cancelled

        generator, info = self._run(samples, item)
        segments = []
        for seg in generator:  # decoding happens while this is consumed, one 30 s window at a time
            segments.append(Segment(
                start=round(seg.start, 3),
                end=round(seg.end, 3),
                text=seg.text.strip(),
                avg_logprob=seg.avg_logprob,
                no_speech_prob=seg.no_speech_prob,
                words=None if seg.words is None else [
                    Word(start=round(w.start, 3), end=round(w.end, 3), word=w.word, probability=w.probability)
                    for w in seg.words
                ],
            ))
            if row_cancelled(row):  # its request is gone: decode no further windows
                break
        return SpeechRecognitionOutput(
            text=_join([s.text for s in segments]),
            language=info.language,
            language_probability=round(float(info.language_probability), 4),
            duration_s=round(float(info.duration), 3),
            segments=segments,
        )


def _skipped(samples, item: SpeechRecognitionInput) -> SpeechRecognitionOutput:
    """The placeholder output of an item nobody waits for any more (never sent to anyone)."""
    return SpeechRecognitionOutput(text="", language=item.language or "", language_probability=0.0,
                                   duration_s=round(len(samples) / AUDIO_SAMPLE_RATE, 3), segments=[])


def _use_vad(requested: bool | None, num_samples: int) -> bool:
    """The input's choice, or on for audio longer than ``VAD_AUTO_MIN_S``.

    >>> _use_vad(None, 60 * AUDIO_SAMPLE_RATE), _use_vad(None, 10 * AUDIO_SAMPLE_RATE), _use_vad(False, 10**9)
    (True, False, False)
    """
    return requested if requested is not None else num_samples > VAD_AUTO_MIN_S * AUDIO_SAMPLE_RATE


def _join(texts: list[str]) -> str:
    """Join segment texts: a space between words, none between CJK characters.

    >>> _join(["Hello there.", "How are you?"])
    'Hello there. How are you?'
    >>> _join(["你好。", "今天天气很好。"])
    '你好。今天天气很好。'
    """
    out = ""
    for text in texts:
        if not text:
            continue
        if out and not (_is_cjk(out[-1]) or _is_cjk(text[0])):
            out += " "
        out += text
    return out


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3000 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF
