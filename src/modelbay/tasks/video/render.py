"""Annotated MP4 of the sampled frames: each frame drawn by its image task (``Rendering``) or captioned.

Frames are shown for as long as they were sampled for (their own timestamps), encoded with
libx264 when PyAV's FFmpeg has it, else MPEG-4 Part 2 (always built in).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from ...core.protocols import Rendering

#: presentation timestamps in milliseconds
TIME_BASE = Fraction(1, 1000)


def annotate(frame_task, item, output, image, time_s: float) -> Any:
    """The frame with its output drawn by the image task when it renders (time at the bottom), else captioned."""
    from PIL import Image

    if isinstance(frame_task, Rendering) and frame_task.render_media_type == "image/png":
        drawn = Image.open(io.BytesIO(frame_task.render(item, output))).convert("RGB")
        return caption(drawn, f"{time_s:.1f} s", bottom=True)
    return caption(image, f"{time_s:.1f}s {output.summary()}")


def caption(image, text: str, *, bottom: bool = False):
    """``image`` with ``text`` on a dark band at the top or bottom (one line, cut to fit)."""
    from PIL import ImageDraw

    from ...ml.vision.draw import label_font

    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    band_px = max(14, out.height // 20)
    top = out.height - band_px - 4 if bottom else 0
    width = out.width if not bottom else min(out.width, band_px * len(text) // 2 + 12)
    draw.rectangle((0, top, width, top + band_px + 4), fill=(0, 0, 0))
    max_chars = max(8, out.width // max(6, band_px // 2))
    draw.text((4, top + 2), text[:max_chars], fill=(255, 255, 255), font=label_font(band_px))
    return out


def encoder_name() -> str:
    import av

    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def encode_mp4(frames: Iterable[tuple[float, Any]], end_s: float | None = None) -> bytes:
    """An MP4 of ``(time_s, PIL image)`` frames, the last shown until ``end_s``; sized as the first (even, for yuv420p)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = None
        last_ms = -1
        for time_s, image in frames:
            if stream is None:
                width, height = image.width // 2 * 2, image.height // 2 * 2
                stream = container.add_stream(encoder_name(), rate=25)
                stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                stream.time_base = TIME_BASE
                stream.codec_context.time_base = TIME_BASE
            if image.size != (stream.width, stream.height):
                image = image.resize((stream.width, stream.height))
            frame = av.VideoFrame.from_image(image)
            frame.pts = max(round(time_s * 1000), last_ms + 1)
            frame.time_base = TIME_BASE
            last_ms = frame.pts
            for packet in stream.encode(frame):
                container.mux(packet)
        if stream is None:
            raise ValueError("no frames to encode")
        if end_s is not None and round(end_s * 1000) - 1 > last_ms:  # hold the last frame until the end
            frame = av.VideoFrame.from_image(image)
            frame.pts, frame.time_base = round(end_s * 1000) - 1, TIME_BASE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()
