"""Decode images and audio once, with size limits, into plain arrays.

Accepted everywhere: raw ``bytes``; a base64 string (optionally a ``data:`` URL).
Local file paths are accepted only where the caller says so (Python API and
CLI, never the HTTP server, which must not read its own disk for a client).
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
from pathlib import Path
from typing import Any

from .errors import BadInput, PayloadTooLarge
from .settings import Limits, get_settings

AUDIO_SAMPLE_RATE = 16_000
AUDIO_FORMATS_HINT = "send WAV, FLAC, OGG or MP3"
_OBJECT_REPR = re.compile(r"'?<[\w.]+ object at 0x[0-9a-fA-F]+>'?")


def media_bytes(value: Any, *, kind: str, field: str, allow_paths: bool, limits: Limits | None = None) -> bytes:
    """Return the encoded bytes behind ``value`` (bytes, base64/data URL, or a path when allowed).

    >>> media_bytes(b"abc", kind="image", field="image", allow_paths=False)
    b'abc'
    """
    limits = limits or get_settings().limits
    setting = "MODELBAY_LIMIT_MAX_MEDIA_BYTES"
    if kind == "video":  # videos have their own byte limit
        limits, setting = limits.model_copy(update={"max_media_bytes": limits.max_video_bytes}), "MODELBAY_LIMIT_MAX_VIDEO_BYTES"
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    elif isinstance(value, Path) or (isinstance(value, str) and allow_paths and _looks_like_path(value)):
        path = Path(value).expanduser()
        if not path.is_file():
            raise BadInput(f"{field}: no such file: {str(path)!r}", hint=f"pass an existing {kind} file, raw bytes or base64")
        if path.stat().st_size > limits.max_media_bytes:
            raise PayloadTooLarge(f"{field}: file {str(path)!r} is {path.stat().st_size} bytes; the limit is "
                                  f"{limits.max_media_bytes} ({setting})")
        data = path.read_bytes()
    elif isinstance(value, str):
        data = _b64decode(value, kind=kind, field=field, limits=limits, may_be_path=allow_paths)
    else:
        raise BadInput(f"{field}: expected {kind} bytes or a base64 string, got {type(value).__name__}")
    if not data:
        raise BadInput(f"{field}: the {kind} is empty")
    if len(data) > limits.max_media_bytes:
        raise PayloadTooLarge(f"{field}: {kind} is {len(data)} bytes; the limit is {limits.max_media_bytes} ({setting})")
    return data


def _looks_like_path(value: str) -> bool:
    return len(value) < 4096 and "\n" not in value and os.path.exists(os.path.expanduser(value))


def _b64decode(value: str, *, kind: str, field: str, limits: Limits, may_be_path: bool) -> bytes:
    text = value.strip()
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    if len(text) > limits.max_media_bytes * 4 // 3 + 4:
        raise PayloadTooLarge(f"{field}: base64 {kind} is larger than {limits.max_media_bytes} bytes")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        if may_be_path and len(value) < 4096 and "\n" not in value and not value.lstrip().startswith("data:"):
            # the Python API and the CLI take paths: a short string that is not a file was most likely meant as one
            raise BadInput(
                f"{field}: no such file: {value!r}",
                hint=f"check the path; a string that is not an existing file is read as base64 {kind} data, "
                "and this one is not that either",
            ) from None
        raise BadInput(
            f"{field}: not valid base64 {kind} data",
            hint="send the file's bytes base64-encoded (e.g. `base64 -w0 photo.jpg`), optionally as a data: URL",
        ) from None


def decode_image(data: bytes, *, field: str = "image", limits: Limits | None = None):
    """Decode JPEG/PNG/WebP/... bytes into an RGB ``PIL.Image``; refuses decompression bombs."""
    from PIL import Image, UnidentifiedImageError

    limits = limits or get_settings().limits
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise PayloadTooLarge(f"{field}: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInput(f"{field}: cannot decode image ({decoder_error_text(exc)})",
                       hint="send a JPEG, PNG, WebP, GIF or BMP file") from None
    width, height = img.size  # read from the header, before any pixel is decoded
    if width * height > limits.max_image_pixels:
        raise PayloadTooLarge(
            f"{field}: image is {width}x{height} = {width * height} pixels; the limit is {limits.max_image_pixels}"
            " (MODELBAY_LIMIT_MAX_IMAGE_PIXELS)"
        )
    try:
        img.load()
        return img.convert("RGB")
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInput(f"{field}: cannot decode image ({decoder_error_text(exc)})",
                       hint="the file looks truncated or corrupt") from None


def decode_image_field(value: Any, field: str = "image", *, allow_paths: bool = False):
    """An image field's value (bytes, base64, or a path where allowed) as a checked RGB ``PIL.Image``.

    What every image task's preprocess and render call: ``media_bytes`` then ``decode_image``, limits included.
    """
    return decode_image(media_bytes(value, kind="image", field=field, allow_paths=allow_paths), field=field)


def decode_audio(data: bytes, *, field: str = "audio", sample_rate: int = AUDIO_SAMPLE_RATE, limits: Limits | None = None):
    """Decode wav/flac/ogg/mp3/… bytes into mono float32 samples at ``sample_rate`` Hz.

    Limits (seconds, channels, sample rate, decoding work) are checked on the header before
    decoding and again while decoding in chunks, so a small file that expands to hours is
    refused early and in little memory (``core/audio_decoders.py``).

    >>> import soundfile as sf
    >>> wav = io.BytesIO()
    >>> sf.write(wav, [0.0] * 4000, 8000, format="WAV")  # half a second at 8 kHz
    >>> len(decode_audio(wav.getvalue()))
    8000
    """
    from .audio_decoders import AudioBudget, decode_with_av, decode_with_soundfile

    limits = limits or get_settings().limits
    samples = decode_with_soundfile(data, AudioBudget(field, limits), sample_rate)
    if samples is None:
        try:
            samples = decode_with_av(data, AudioBudget(field, limits), sample_rate)
        except LookupError:
            raise BadInput(f"{field}: the file has no audio stream", hint=AUDIO_FORMATS_HINT) from None
        except PayloadTooLarge:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever FFmpeg says, it is the client's file that is bad
            raise BadInput(f"{field}: cannot decode audio ({decoder_error_text(exc)})", hint=AUDIO_FORMATS_HINT) from None
    if len(samples) == 0:
        raise BadInput(f"{field}: the audio holds no samples")
    return samples


def decoder_error_text(exc: BaseException) -> str:
    """A decoder's complaint without object reprs: PIL and libsndfile name a ``BytesIO`` by its address.

    >>> decoder_error_text(OSError("cannot identify image file <_io.BytesIO object at 0x7f3c>"))
    'OSError: cannot identify image file (the uploaded bytes)'
    """
    text = getattr(exc, "strerror", None) or str(exc)  # FFmpeg's errors: strerror is the message without the file
    text = _OBJECT_REPR.sub("(the uploaded bytes)", str(text)).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
