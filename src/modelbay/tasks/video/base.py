"""What both video tasks share: the input's video fields, the per-frame image task, sampling and progress."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from ...core.cancel import row_cancelled
from ...core.errors import BadInput, UnknownTask
from ...core.media import media_bytes
from ...core.protocols import ProgressEvent, ReportsProgress
from ...core.registry import get_task
from ...core.task import TaskInput
from .frames import FrameResult, drain, run_on_frames

MAX_SAMPLE_FPS = 30.0


class VideoInput(TaskInput):
    # bytes travel in JSON as base64 both ways, so a dumped input validates back to the same video
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    video: bytes | str = Field(..., description="MP4/WebM/MKV/MOV/AVI bytes, or a base64 string of them (a path in "
                                                "the CLI and the Python API)")
    sample_fps: float = Field(1.0, gt=0, le=MAX_SAMPLE_FPS, description="frames analysed per second of video")
    sampling: Literal["fps", "scenes"] = Field(
        "fps", description="'fps': a frame every 1/sample_fps s; 'scenes': the first frame and each scene change "
                           "(at most sample_fps per second)")
    scene_threshold: float = Field(0.1, gt=0, lt=1, description="'scenes': how different (mean absolute grey-level "
                                                                "difference, 0..1) a frame must be from the one before")
    max_seconds: float | None = Field(None, gt=0, description="analyse only the first max_seconds of the video")


def video_cls_example(seconds: float, size: tuple[int, int], colours: list[tuple[int, int, int]]) -> bytes:
    """A small MP4 drawn in code: a disc moving over plain colours that change every second (examples, tests)."""
    import io

    import av
    import numpy as np

    fps = 10
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.empty((height, width, 3), np.uint8)
            img[:] = colours[(i // fps) % len(colours)]
            cx = (i * 4) % width
            img[(xx - cx) ** 2 + (yy - height // 2) ** 2 < (height // 4) ** 2] = (250, 250, 250)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


class VideoTaskBase(ReportsProgress):
    """Mixin of the video tasks: loads the image task they run per frame and walks a video's frames with it.

    Each task writes ``analyse(item, row)``: a generator that yields progress events and returns the item's
    Output. ``_forward`` drains it; ``run_with_progress`` (the CLI's bar, ``"stream": true``) passes the
    events on.
    """

    media_fields: ClassVar[dict[str, str]] = {"video": "video"}
    primary_field = "video"
    batchable = False  # one item is a whole video: it is batched frame by frame inside

    def analyse(self, item: Any, row: int) -> Generator[ProgressEvent, None, Any]:
        raise NotImplementedError

    def _forward(self, items: list) -> list:
        return [drain(self.analyse(item, row)) for row, item in enumerate(items)]

    def run_with_progress(self, item: Any) -> Iterator[tuple[ProgressEvent | None, Any]]:
        work = self.analyse(item, 0)
        try:
            while True:
                yield next(work), None
        except StopIteration as stop:
            yield None, stop.value
        finally:
            work.close()  # stops decoding when the consumer leaves early

    def _frame_tasks(self) -> dict:
        if "_loaded" not in self.__dict__:
            self._loaded: dict[tuple[str, str | None], Any] = {}
            self._loading = threading.Lock()
        return self._loaded

    def frame_task(self, task: str, model: str | None):
        """The image task ``task`` with ``model`` (its default when None), loaded once per video task."""
        from ...core.loading import load_task

        try:
            frame_cls = get_task(task)
        except UnknownTask as exc:
            raise BadInput(f"task: {exc}", hint="pick an image task, e.g. image-classification") from None
        loaded = self._frame_tasks()
        key = (frame_cls.name, model)
        with self._loading:
            if key not in loaded:
                loaded[key] = load_task(frame_cls.name, model, self.device)
        return frame_cls, loaded[key]

    def walk(self, item: VideoInput, row: int, frame_cls, frame_task,
             params: dict[str, Any]) -> Generator[ProgressEvent, None, tuple[list[FrameResult], float | None]]:
        """Sample ``item``'s video and run the image task on each frame, yielding progress; ``(results, duration_s)``."""
        from ...core.video import sample_frames, video_info

        data = media_bytes(item.video, kind="video", field="video", allow_paths=False)
        info = video_info(data)
        frames = sample_frames(data, sample_fps=item.sample_fps, sampling=item.sampling,
                               scene_threshold=item.scene_threshold, max_seconds=item.max_seconds)
        span_s = info.duration_s if item.max_seconds is None or info.duration_s is None else min(
            info.duration_s, item.max_seconds)
        results: list[FrameResult] = yield from run_on_frames(frames, frame_task, frame_cls, params, total_s=span_s,
                                                              frame_size=(info.width, info.height),
                                                              cancelled=lambda: row_cancelled(row))
        return results, span_s

    def frames_of(self, item: VideoInput):
        """The same frames ``walk`` saw (for rendering): sampling is deterministic."""
        from ...core.video import sample_frames

        data = media_bytes(item.video, kind="video", field="video", allow_paths=False)
        return sample_frames(data, sample_fps=item.sample_fps, sampling=item.sampling,
                             scene_threshold=item.scene_threshold, max_seconds=item.max_seconds)


def image_task_names() -> list[str]:
    from ...core.registry import all_tasks

    return [c.name for c in all_tasks() if "image" in c.media_fields.values()]
