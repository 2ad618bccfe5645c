"""Bounded video decoding with PyAV: sample frames at a fixed rate or at scene changes.

A small file can claim hours of 8K video, or hold a thousand frames per second: decoding it
whole would take minutes and gigabytes. So :func:`video_info` and :func:`sample_frames` read the
header first and refuse (``PayloadTooLarge``, a 413) what it says is over the limits — seconds to
analyse, pixels per frame (``max_image_pixels``, the images' decompression-bomb limit), frames to
decode — and :func:`sample_frames` checks every decoded frame again (headers can lie or leave the
length out). FFmpeg's errors (not a video, no video stream, truncated) become ``BadInput``.
Sampling skips the work it can (see ``_Walker``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .errors import BadInput, PayloadTooLarge
from .settings import Limits, get_settings

VIDEO_FORMATS_HINT = "send an MP4, WebM, MKV, MOV or AVI file with a video stream"
#: side of the grey thumbnail compared between frames to find scene changes
SCENE_THUMB_PX = 32
#: compressed packets held while looking for the next keyframe (to skip groups with no sample)
MAX_GROUP_PACKETS = 300

Sampling = Literal["fps", "scenes"]


@dataclass(frozen=True)
class VideoInfo:
    """What the container says before any frame is decoded (``None``: it does not say)."""

    width: int
    height: int
    fps: float | None
    duration_s: float | None
    frames: int | None
    codec: str
    #: the duration is the video stream's own (not the container's, which may be a longer audio track's)
    duration_reliable: bool = True


@dataclass
class SampledFrame:
    """One sampled frame: its presentation time, its frame number (from that time and the rate), its RGB pixels."""

    time_s: float
    index: int
    image: Any  # PIL.Image.Image, RGB


def video_info(data: bytes, *, field: str = "video", limits: Limits | None = None) -> VideoInfo:
    """The header of ``data`` (checked against the limits), without decoding a frame."""
    with _open(data, field) as container:
        return _check_header(container, field, limits or get_settings().limits, None)


def sample_frames(data: bytes, *, sample_fps: float = 1.0, sampling: Sampling = "fps", scene_threshold: float = 0.1,
                  max_seconds: float | None = None, field: str = "video",
                  limits: Limits | None = None) -> Iterator[SampledFrame]:
    """Yield frames of ``data`` every ``1 / sample_fps`` seconds (``"fps"``) or at scene changes (``"scenes"``).

    ``"scenes"`` yields the first frame and every frame whose grey 32x32 thumbnail differs from the
    previous frame's by more than ``scene_threshold`` (mean absolute difference, 0..1), at most
    ``sample_fps`` per second. ``max_seconds`` stops early (the rest of the file is not decoded);
    the limits refuse a file whose analysed span would pass ``max_video_s``.
    """
    if not sample_fps > 0:
        raise BadInput(f"sample_fps: must be above 0, got {sample_fps}")
    limits = limits or get_settings().limits
    with _open(data, field) as container:
        info = _check_header(container, field, limits, max_seconds)
        plan = _Plan(sample_fps, sampling, scene_threshold, max_seconds)
        yield from _Walker(container, info, plan, field, limits).frames()


@dataclass
class _Plan:
    sample_fps: float
    sampling: Sampling
    scene_threshold: float
    max_seconds: float | None


class _Walker:
    """Decodes in order and converts to RGB only the frames sampled.

    Work saved at a fixed rate, where no sample is lost: whole groups of pictures (keyframe to
    keyframe) with no sample time in them are never decoded, and when samples are at least 4
    frames apart, frames no other frame refers to (most B-frames) are skipped, so a sample is the
    first frame decoded at or after its time (a frame or two later at most; its own time is given).
    """

    def __init__(self, container, info: VideoInfo, plan: _Plan, field: str, limits: Limits) -> None:
        self.container, self.info, self.plan, self.field, self.limits = container, info, plan, field, limits
        self.stream = container.streams.video[0]
        self.stream.thread_type = "AUTO"  # frame + slice threads: decoding is most of the work at 1 fps
        self.fixed_rate = plan.sampling == "fps"
        if self.fixed_rate and info.fps and plan.sample_fps * 4 <= info.fps:
            self.stream.codec_context.skip_frame = "NONREF"
        self.period_s = 1.0 / plan.sample_fps
        self.next_s = 0.0
        self.previous_thumb = None
        self.decoded = 0
        self.end_s = 0.0
        start = self.stream.start_time  # streams may start at pts > 0 (edit lists)
        self.origin_s = float(start * self.stream.time_base) if start is not None and self.stream.time_base else None
        self.stopped = False

    def frames(self) -> Iterator[SampledFrame]:
        import av

        try:
            for frame in self._decoded():
                sampled = self._take(frame)
                if self.stopped:
                    return
                if sampled is not None:
                    yield sampled
        except av.FFmpegError as exc:
            raise _bad(self.field, exc, self.decoded, "decoding stopped") from None
        if self.decoded == 0:
            raise BadInput(f"{self.field}: the video stream holds no decodable frame (truncated or corrupt?)",
                           hint=VIDEO_FORMATS_HINT)
        _check_complete(self.info, self.end_s, self.field)

    def _decoded(self) -> Iterator:
        """Frames in presentation order, a group of pictures at a time (the packets of one are held, compressed)."""
        group: list = []
        for packet in self.container.demux(self.stream):
            if packet.is_keyframe and group and packet.pts is not None:
                yield from self._decode_group(group, self._relative(float(packet.pts * packet.time_base)))
                group = []
                if self.stopped:
                    return
            group.append(packet)  # the last one is empty: decoding it flushes the decoder
            if len(group) >= MAX_GROUP_PACKETS:  # a long group (or no keyframe marks): decode it as it comes
                yield from self._decode_group(group, None)
                group = []
        yield from self._decode_group(group, None)

    def _decode_group(self, group: list, next_key_s: float | None) -> Iterator:
        if self.fixed_rate and next_key_s is not None and self.next_s >= next_key_s - 1e-6:
            self._check_time(next_key_s)  # skipped, but its time counts against the limits
            return
        for packet in group:
            if self.stopped or (self.fixed_rate and next_key_s is not None and self.next_s >= next_key_s - 1e-6):
                return  # the group's samples are taken: the rest of it is not needed
            yield from packet.decode()

    def _relative(self, time_s: float) -> float:
        if self.origin_s is None:
            self.origin_s = time_s
        return max(0.0, time_s - self.origin_s)

    def _check_time(self, time_s: float) -> None:
        if self.plan.max_seconds is not None and time_s >= self.plan.max_seconds:
            self.stopped = True
        elif time_s > self.limits.max_video_s:
            raise PayloadTooLarge(f"{self.field}: video runs past {self.limits.max_video_s:.0f} s (decoding stopped "
                                  f"there); the limit is {self.limits.max_video_s:.0f} s (MODELBAY_LIMIT_MAX_VIDEO_S)",
                                  hint="set max_seconds to analyse only the start, or cut it shorter")

    def _take(self, frame) -> SampledFrame | None:
        """The frame as a sample, or None; checks it against the limits first (headers can lie)."""
        self.decoded += 1
        if self.decoded > self.limits.max_video_frames:
            raise PayloadTooLarge(f"{self.field}: video has more than {self.limits.max_video_frames} frames to decode "
                                  f"(decoding stopped there; its header said {self.info.frames or 'no count'})"
                                  " (MODELBAY_LIMIT_MAX_VIDEO_FRAMES)", hint="cut it shorter or lower its frame rate")
        _check_pixels(frame.width, frame.height, self.field, self.limits)
        time_s = self._relative(_frame_time(frame, self.decoded, self.info))
        self._check_time(time_s)
        if self.stopped:
            return None
        self.end_s = max(self.end_s, time_s)
        if not self.fixed_rate:
            thumb = _thumbnail(frame)
            changed = self.previous_thumb is None or _difference(thumb, self.previous_thumb) > self.plan.scene_threshold
            self.previous_thumb = thumb
            if not (changed and time_s >= self.next_s):
                return None
            self.next_s = time_s + self.period_s
        elif time_s + 1e-6 < self.next_s:
            return None
        else:
            self.next_s += self.period_s * (int((time_s - self.next_s) / self.period_s + 1e-6) + 1)
        index = round(time_s * self.info.fps) if self.info.fps else self.decoded - 1
        return SampledFrame(time_s=time_s, index=index, image=frame.to_image())


def _check_complete(info: VideoInfo, end_s: float, field: str) -> None:
    """A file whose frames end well before its header's duration was cut off (FFmpeg stops without an error)."""
    if info.duration_s is None or not info.duration_reliable:
        return
    if end_s < info.duration_s - max(1.0, 0.05 * info.duration_s):
        raise BadInput(f"{field}: the video is truncated: its frames end at {end_s:.1f} s but its header says "
                       f"{info.duration_s:.1f} s", hint="re-encode or re-download it")


def _frame_time(frame, decoded: int, info: VideoInfo) -> float:
    if frame.pts is not None and frame.time_base is not None:
        return float(frame.pts * frame.time_base)
    return (decoded - 1) / (info.fps or 25.0)


def _thumbnail(frame):
    import numpy as np

    grey = frame.reformat(width=SCENE_THUMB_PX, height=SCENE_THUMB_PX, format="gray")
    return np.asarray(grey.to_ndarray(), dtype=np.float32) / 255.0


def _difference(a, b) -> float:
    import numpy as np

    return float(np.abs(a - b).mean())


class _open:
    """``av.open`` on bytes as a context manager whose FFmpeg errors are ``BadInput``."""

    def __init__(self, data: bytes, field: str) -> None:
        self.data, self.field, self.container = data, field, None

    def __enter__(self):
        import av

        try:
            self.container = av.open(io.BytesIO(self.data), mode="r")
        except (av.FFmpegError, ValueError, OSError) as exc:
            raise _bad(self.field, exc, None, "cannot open", self.data[:16]) from None
        if not self.container.streams.video:
            kinds = sorted({s.type for s in self.container.streams}) or ["no"]
            self.container.close()
            raise BadInput(f"{self.field}: the file has no video stream (it has {', '.join(kinds)} streams)",
                           hint=VIDEO_FORMATS_HINT)
        return self.container

    def __exit__(self, *exc) -> None:
        self.container.close()


def _check_header(container, field: str, limits: Limits, max_seconds: float | None) -> VideoInfo:
    stream = container.streams.video[0]
    ctx, rate = stream.codec_context, stream.average_rate or stream.guessed_rate or stream.base_rate
    info = VideoInfo(width=int(ctx.width or 0), height=int(ctx.height or 0), fps=float(rate) if rate else None,
                     duration_s=_duration_s(container, stream), frames=int(stream.frames) or None,
                     codec=ctx.name or "unknown",
                     duration_reliable=stream.duration is not None or not container.streams.audio)
    _check_pixels(info.width, info.height, field, limits)
    span_s = info.duration_s if max_seconds is None or info.duration_s is None else min(info.duration_s, max_seconds)
    if span_s is not None and span_s > limits.max_video_s:
        raise PayloadTooLarge(f"{field}: video is {info.duration_s:.0f} s long (from its header, before decoding); the "
                              f"limit is {limits.max_video_s:.0f} s (MODELBAY_LIMIT_MAX_VIDEO_S)",
                              hint=f"set max_seconds to at most {limits.max_video_s:.0f} to analyse only the start")
    if span_s is not None and info.fps and span_s * info.fps > limits.max_video_frames * 1.01:
        raise PayloadTooLarge(f"{field}: {span_s:.0f} s at {info.fps:.0f} fps is {span_s * info.fps:.0f} frames to "
                              f"decode (from its header); the limit is {limits.max_video_frames} "
                              "(MODELBAY_LIMIT_MAX_VIDEO_FRAMES)", hint="lower its frame rate or cut it shorter")
    return info


def _check_pixels(width: int, height: int, field: str, limits: Limits) -> None:
    if width * height > limits.max_image_pixels:
        raise PayloadTooLarge(f"{field}: video frames are {width}x{height} = {width * height} pixels; the limit is "
                              f"{limits.max_image_pixels} (MODELBAY_LIMIT_MAX_IMAGE_PIXELS)",
                              hint="scale it down, e.g. `ffmpeg -i in.mp4 -vf scale=1280:-2 out.mp4`")


def _duration_s(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def _bad(field: str, exc: BaseException, decoded: int | None, stage: str, head: bytes = b"") -> BadInput:
    from .media import decoder_error_text

    what = decoder_error_text(exc)
    if decoded is None and head[4:8] == b"ftyp":
        return BadInput(f"{field}: the file starts like an MP4/MOV video but cannot be opened: truncated or corrupt, "
                        f"e.g. its index (moov atom) is missing ({what})", hint="re-encode or re-download it")
    if decoded is None:
        return BadInput(f"{field}: cannot open video ({what})", hint=f"{VIDEO_FORMATS_HINT}; it may be truncated")
    return BadInput(f"{field}: the video is truncated or corrupt: {stage} after {decoded} frames ({what})",
                    hint="re-encode or re-download it")


__all__ = ["SampledFrame", "Sampling", "VideoInfo", "sample_frames", "video_info"]
