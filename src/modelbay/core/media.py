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
from pathlib import Path
from typing import Any

from .errors import BadInput, PayloadTooLarge
from .settings import Limits, get_settings

AUDIO_SAMPLE_RATE = 16_000


def media_bytes(value: Any, *, kind: str, field: str, allow_paths: bool, limits: Limits | None = None) -> bytes:
    """Return the encoded bytes behind ``value`` (bytes, base64/data URL, or a path when allowed).

    >>> media_bytes(b"abc", kind="image", field="image", allow_paths=False)
    b'abc'
    """
    limits = limits or get_settings().limits
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    elif isinstance(value, Path) or (isinstance(value, str) and allow_paths and _looks_like_path(value)):
        path = Path(value).expanduser()
        if not path.is_file():
            raise BadInput(f"{field}: no such file: {str(path)!r}", hint=f"pass an existing {kind} file, raw bytes or base64")
        if path.stat().st_size > limits.max_media_bytes:
            raise PayloadTooLarge(f"{field}: file {str(path)!r} is {path.stat().st_size} bytes; the limit is {limits.max_media_bytes}")
        data = path.read_bytes()
    elif isinstance(value, str):
        data = _b64decode(value, kind=kind, field=field, limits=limits)
    else:
        raise BadInput(f"{field}: expected {kind} bytes or a base64 string, got {type(value).__name__}")
    if not data:
        raise BadInput(f"{field}: the {kind} is empty")
    if len(data) > limits.max_media_bytes:
        raise PayloadTooLarge(f"{field}: {kind} is {len(data)} bytes; the limit is {limits.max_media_bytes} (MODELBAY_LIMIT_MAX_MEDIA_BYTES)")
    return data


def _looks_like_path(value: str) -> bool:
    return len(value) < 4096 and "\n" not in value and os.path.exists(os.path.expanduser(value))


def _b64decode(value: str, *, kind: str, field: str, limits: Limits) -> bytes:
    text = value.strip()
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    if len(text) > limits.max_media_bytes * 4 // 3 + 4:
        raise PayloadTooLarge(f"{field}: base64 {kind} is larger than {limits.max_media_bytes} bytes")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
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
        raise BadInput(f"{field}: cannot decode image ({exc})", hint="send a JPEG, PNG, WebP, GIF or BMP file") from None
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
        raise BadInput(f"{field}: cannot decode image ({exc})", hint="the file looks truncated or corrupt") from None


def decode_audio(data: bytes, *, field: str = "audio", sample_rate: int = AUDIO_SAMPLE_RATE, limits: Limits | None = None):
    """Decode wav/flac/ogg/mp3 bytes into mono float32 samples at ``sample_rate`` Hz."""
    import numpy as np

    limits = limits or get_settings().limits
    samples, rate = _decode_with_soundfile(data)
    if samples is None:
        samples, rate = _decode_with_av(data, field)
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    duration_s = len(samples) / rate if rate else 0.0
    if duration_s > limits.max_audio_s:
        raise PayloadTooLarge(f"{field}: audio is {duration_s:.0f} s long; the limit is {limits.max_audio_s:.0f} s (MODELBAY_LIMIT_MAX_AUDIO_S)")
    if len(samples) == 0:
        raise BadInput(f"{field}: the audio holds no samples")
    if rate != sample_rate:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(int(rate), sample_rate)
        samples = resample_poly(samples, sample_rate // g, int(rate) // g)
    return np.ascontiguousarray(samples, dtype=np.float32)


def _decode_with_soundfile(data: bytes):
    import soundfile as sf

    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
        return samples, rate
    except Exception:  # noqa: BLE001 - libsndfile raises many error types for formats it lacks; PyAV tries next
        return None, None


def _decode_with_av(data: bytes, field: str):
    import numpy as np

    try:
        import av

        with av.open(io.BytesIO(data)) as container:
            stream = next(s for s in container.streams if s.type == "audio")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_SAMPLE_RATE)
            chunks = []
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        if not chunks:
            raise ValueError("no audio frames")
        return np.concatenate(chunks).astype("float32"), AUDIO_SAMPLE_RATE
    except StopIteration:
        raise BadInput(f"{field}: the file has no audio stream") from None
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever FFmpeg says, it is the client's file that is bad
        raise BadInput(f"{field}: cannot decode audio ({type(exc).__name__}: {exc})", hint="send WAV, FLAC, OGG or MP3") from None
