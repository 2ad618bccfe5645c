"""``POST /v1/audio/transcriptions`` on the speech-recognition task: a multipart upload in,
json / text / srt / vtt / verbose_json out, as OpenAI's Whisper API answers.

Differences from OpenAI, on purpose: ``language`` in verbose_json is the ISO code
Whisper detected (``"en"``, not ``"english"``); ``temperature`` is ignored (Whisper's
own fallback schedule runs, seeded); segment ``tokens`` are not reported (empty).
Oversized uploads get 413 from the server's body limit, audio over the seconds or channel
limits 413 from its header before it is decoded (``core/audio_decoders.py``); undecodable audio 422.
"""

from __future__ import annotations

import zlib
from typing import Annotated

from fastapi import FastAPI, File, Form, UploadFile
from fastapi.responses import PlainTextResponse

from ...core.errors import BadInput
from ..context import ServerContext
from .common import model_for

ROUTE = "/v1/audio/transcriptions"
FORMATS = ("json", "text", "srt", "vtt", "verbose_json")


def _timestamp(seconds: float, separator: str) -> str:
    """``_timestamp(3661.5, ",")`` -> ``'01:01:01,500'`` (SRT uses a comma, WebVTT a dot).

    >>> _timestamp(3661.5, ",")
    '01:01:01,500'
    """
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def to_srt(segments) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line after each."""
    return "".join(f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{s.text}\n\n"
                   for i, s in enumerate(segments, start=1))


def to_vtt(segments) -> str:
    """WebVTT: a ``WEBVTT`` header, then ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues."""
    return "WEBVTT\n\n" + "".join(f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{s.text}\n\n"
                                  for s in segments)


def _compression_ratio(text: str) -> float:
    """What Whisper reports: text bytes over zlib-compressed bytes (above 2.4 suggests repetition)."""
    data = text.encode("utf-8")
    return round(len(data) / len(zlib.compress(data)), 4) if data else 0.0


def to_verbose_json(output, words: bool) -> dict:
    segments = [{"id": i, "seek": int(s.start * 100), "start": s.start, "end": s.end, "text": s.text, "tokens": [],
                 "temperature": 0.0, "avg_logprob": s.avg_logprob, "compression_ratio": _compression_ratio(s.text),
                 "no_speech_prob": s.no_speech_prob} for i, s in enumerate(output.segments)]
    body = {"task": "transcribe", "language": output.language, "duration": output.duration_s, "text": output.text,
            "segments": segments, "usage": {"type": "duration", "seconds": output.duration_s}}
    if words:
        body["words"] = [{"word": w.word.strip(), "start": w.start, "end": w.end}
                         for s in output.segments for w in (s.words or [])]
    return body


def install_audio(app: FastAPI, ctx: ServerContext) -> None:
    from ...tasks.speech_recognition.task import SpeechRecognition

    @app.post(ROUTE, tags=["openai"], summary="OpenAI-compatible transcription (multipart upload)")
    async def create_transcription(
        file: Annotated[UploadFile, File(description="audio: wav, flac, mp3, ogg, m4a, webm, …")],
        model: Annotated[str, Form(description="whisper-base, 'whisper-1' or 'default'")] = "default",
        language: Annotated[str | None, Form(description="ISO code such as 'en'; detected when left out")] = None,
        prompt: Annotated[str | None, Form(description="text that precedes the audio: names, jargon, style")] = None,
        response_format: Annotated[str, Form(description=" | ".join(FORMATS))] = "json",
        temperature: Annotated[float | None, Form(description="ignored")] = None,
        granularities: Annotated[list[str] | None, Form(alias="timestamp_granularities[]",
                                                        description="'segment' and/or 'word' (verbose_json)")] = None,
    ):
        name = model_for(SpeechRecognition.name, model, ROUTE)
        if response_format not in FORMATS:
            raise BadInput(f"response_format: {response_format!r} is not supported; use one of {', '.join(FORMATS)}")
        unknown = sorted(set(granularities or ()) - {"segment", "word"})
        if unknown:
            raise BadInput(f"timestamp_granularities[]: {unknown[0]!r} is not 'segment' or 'word'")
        words = response_format == "verbose_json" and "word" in (granularities or ())
        data = await file.read()
        if not data:
            raise BadInput("file: the upload is empty; send an audio file")
        item = SpeechRecognition.coerce(
            {"audio": data, "language": language, "initial_prompt": prompt or None, "word_timestamps": words},
            field="file",
        )
        _task, (output,) = await ctx.run(SpeechRecognition.name, name, [item])
        if response_format == "json":
            return {"text": output.text, "usage": {"type": "duration", "seconds": output.duration_s}}
        if response_format == "verbose_json":
            return to_verbose_json(output, words)
        if response_format == "text":
            return PlainTextResponse(output.text + "\n")
        if response_format == "srt":
            return PlainTextResponse(to_srt(output.segments))
        return PlainTextResponse(to_vtt(output.segments), media_type="text/vtt")
