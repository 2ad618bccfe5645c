"""Run an image task on sampled video frames: decoding overlaps inference, batches of frames, progress.

The image task is loaded through the registry (``load_task``), never imported: capabilities
stay independent. Frames travel to it as BMP bytes in its image field — lossless and
nearly free to encode and decode, unlike PNG — so it sees exactly the decoded pixels.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from ...core.errors import BadInput
from ...core.protocols import ProgressEvent

log = logging.getLogger("modelbay.video")

#: frames handed to the image task per call (it chunks further for its own cache needs)
FRAME_BATCH = 8
#: frames decoded ahead of inference (bounded: a long video never piles up in memory)
PREFETCH_FRAMES = 16
#: RGB bytes the decoded frames waiting for the image task may hold: 4K and larger frames get fewer of them
PREFETCH_BYTES = 256 * 1024 * 1024


def frames_in_flight(width: int, height: int) -> tuple[int, int]:
    """(batch, prefetch depth) for frames of this size: at most ``PREFETCH_BYTES`` of RGB waiting in all.

    >>> frames_in_flight(1280, 720), frames_in_flight(7680, 4320)
    ((8, 16), (1, 1))
    """
    fit = PREFETCH_BYTES // max(1, width * height * 3)
    return max(1, min(FRAME_BATCH, fit // 2)), max(1, min(PREFETCH_FRAMES, fit // 2))

ProgressCallback = Callable[[str, int, int], None]


def image_field(frame_cls) -> str:
    """The image task's field that takes the picture: its primary field if it is an image, else its first image field."""
    fields = {name for name, kind in frame_cls.media_fields.items() if kind == "image"}
    if frame_cls.primary_field in fields:
        return frame_cls.primary_field
    if fields:
        return min(fields)
    raise BadInput(f"task: {frame_cls.name!r} does not take an image, so it cannot run on video frames",
                   hint="pick an image task, e.g. image-classification or object-detection")


def bmp_bytes(image) -> bytes:
    """BMP bytes of ``image``; PNG (lossless too, smaller, slower) for frames whose BMP would pass the media limit."""
    from ...core.settings import get_settings

    buf = io.BytesIO()
    too_big = image.width * image.height * 3 + 1024 > get_settings().limits.max_media_bytes
    image.save(buf, format="PNG" if too_big else "BMP")
    return buf.getvalue()


def frame_item(frame_cls, image, params: dict[str, Any]):
    """The image task's validated input for one frame; a bad ``params`` value is named as such."""
    field = image_field(frame_cls)
    if field in params:
        raise BadInput(f"params: {field!r} is filled with each frame; remove it from params")
    return frame_cls.coerce({**params, field: bmp_bytes(image)}, field="params")


@dataclass
class FrameResult:
    time_s: float
    output: Any  # the image task's Output


def run_on_frames(frames: Iterator, frame_task, frame_cls, params: dict[str, Any], *, total_s: float | None,
                  frame_size: tuple[int, int] = (1920, 1080), cancelled: Callable[[], bool] = lambda: False,
                  keep: Callable[[Any, Any], None] | None = None) -> Generator[ProgressEvent, None, list[FrameResult]]:
    """Run ``frame_task`` on every frame of ``frames`` (decoded in a background thread), in batches.

    A generator: after each batch it yields ``("video", done_s, total_s)``, the seconds of video analysed,
    and it returns the results (``results = yield from run_on_frames(...)``). ``cancelled()`` is asked
    between batches (the server's cancel scope) and stops the work; so does closing the generator.
    ``keep(frame, output)`` sees each frame with its output (rendering uses it).
    """
    results: list[FrameResult] = []
    total = round(total_s or 0)
    batch_size, depth = frames_in_flight(*frame_size)
    source = prefetched(frames, depth) if PREFETCH_FRAMES else frames
    try:
        batch: list = []
        for frame in source:
            batch.append(frame)
            if len(batch) < batch_size:
                continue
            yield _run_batch(batch, frame_task, frame_cls, params, results, keep, total)
            batch = []
            if cancelled():
                return results
        if batch:
            yield _run_batch(batch, frame_task, frame_cls, params, results, keep, total)
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
    return results


def _run_batch(batch: list, frame_task, frame_cls, params: dict[str, Any], results: list[FrameResult],
               keep: Callable[[Any, Any], None] | None, total_s: int) -> ProgressEvent:
    items = [frame_item(frame_cls, f.image, params) for f in batch]
    for frame, out in zip(batch, frame_task(items)):
        results.append(FrameResult(time_s=round(frame.time_s, 3), output=out))
        if keep is not None:
            keep(frame, out)
    log.info("video: analysed %.1f of %s s (%d frames)", batch[-1].time_s, total_s or "?", len(results))
    return ("video", int(batch[-1].time_s), total_s)


def drain(events: Generator[Any, None, Any]) -> Any:
    """Run a progress generator to its end, ignoring the events; its return value."""
    while True:
        try:
            next(events)
        except StopIteration as stop:
            return stop.value


_END = object()


def prefetched(frames: Iterator, depth: int = PREFETCH_FRAMES) -> Iterator:
    """Iterate ``frames`` in a background thread, ``depth`` ahead: FFmpeg and torch release the GIL, so they overlap.

    Errors of the producer come out here; leaving the loop early stops it and closes ``frames``.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        buffer.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            item: Any = _END
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            item = exc
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=produce, name="modelbay-video-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=10)
