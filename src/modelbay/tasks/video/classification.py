"""video-classification: what a video shows, as image classification averaged over its sampled frames."""

from __future__ import annotations

from collections.abc import Generator
from typing import ClassVar

from pydantic import BaseModel, Field

from ...core.protocols import ProgressEvent, Rendering
from ...core.registry import register
from ...core.task import Task, TaskOutput
from .aggregate import TopLabel, top_labels
from .base import VideoInput, VideoTaskBase, video_cls_example

FRAME_TASK = "image-classification"
#: labels asked of each frame: all of an ImageNet model's, so the mean over frames is exact
ALL_LABELS = 1000


class VideoClassificationInput(VideoInput):
    top_k: int = Field(5, ge=1, le=1000, description="how many labels to return, best first (overall and per segment)")
    segment_s: float = Field(10.0, gt=0, description="length of the segments labelled on their own, in seconds")


class Segment(BaseModel):
    start_s: float
    end_s: float
    frames: int
    labels: list[TopLabel] = Field(..., description="top_k labels by mean probability over the segment's frames")


class VideoClassificationOutput(TaskOutput):
    labels: list[TopLabel] = Field(..., description="top_k labels by mean probability over every sampled frame")
    segments: list[Segment] = Field(..., description="the same, per segment_s of video")
    duration_s: float | None = Field(..., description="seconds analysed (the header's duration, cut to max_seconds)")
    frames_analysed: int
    model: str

    def summary(self) -> str:
        top = ", ".join(f"{t.label} {t.score:.2f}" for t in self.labels)
        return f"{top} ({self.frames_analysed} frames)"


@register
class VideoClassification(VideoTaskBase, Task[VideoClassificationInput, VideoClassificationOutput], Rendering):
    name = "video-classification"
    aliases = ("classify-video",)
    description = ("What a video shows: image classification (EfficientNet-Lite0 by default) on frames sampled at "
                   "sample_fps, mean probabilities overall and per segment")
    Input = VideoClassificationInput
    Output = VideoClassificationOutput
    default_model = "efficientnet-lite0"
    accepts_models_of: ClassVar[tuple[str, ...]] = (FRAME_TASK,)
    render_media_type = "video/mp4"

    @classmethod
    def examples(cls) -> list:
        """Two small MP4s drawn in code (mpeg4, 10 fps): 3 s over red/green/blue, 2 s over grey/yellow."""
        return [video_cls_example(3.0, (96, 64), [(200, 30, 30), (30, 200, 30), (30, 30, 200)]),
                {"video": video_cls_example(2.0, (80, 60), [(128, 128, 128), (220, 200, 40)]), "top_k": 3,
                 "sample_fps": 2.0, "segment_s": 1.0}]

    def analyse(self, item: VideoClassificationInput,
                row: int) -> Generator[ProgressEvent, None, VideoClassificationOutput]:
        frame_cls, frame_task = self.frame_task(FRAME_TASK, self.model.spec.name)
        results, span_s = yield from self.walk(item, row, frame_cls, frame_task, {"top_k": ALL_LABELS})
        frames = [(r.time_s, r.output.model_dump()) for r in results]
        end_s = span_s if span_s is not None else (frames[-1][0] + 1 / item.sample_fps if frames else 0.0)
        return VideoClassificationOutput(
            labels=top_labels(frames, item.top_k), segments=_segments(frames, item, end_s),
            duration_s=None if span_s is None else round(span_s, 3), frames_analysed=len(frames),
            model=self.model.spec.name)

    def render(self, item: VideoClassificationInput, output: VideoClassificationOutput) -> bytes:
        """An MP4 of the sampled frames, each captioned with its segment's top labels."""
        from .render import caption, encode_mp4

        def captioned():
            for frame in self.frames_of(item):
                seg = next((s for s in output.segments if s.start_s <= frame.time_s < s.end_s), None)
                text = ", ".join(f"{t.label} {t.score:.2f}" for t in (seg.labels if seg else output.labels)[:3])
                yield frame.time_s, caption(frame.image, f"{frame.time_s:.1f}s {text}")

        return encode_mp4(captioned(), output.duration_s)


def _segments(frames: list[tuple[float, dict]], item: VideoClassificationInput, end_s: float) -> list[Segment]:
    by_segment: dict[int, list[tuple[float, dict]]] = {}
    for time_s, out in frames:
        by_segment.setdefault(int(time_s // item.segment_s), []).append((time_s, out))
    seg_s = item.segment_s
    return [Segment(start_s=round(k * seg_s, 3), end_s=round(max(min((k + 1) * seg_s, end_s), k * seg_s), 3),
                    frames=len(v), labels=top_labels(v, item.top_k)) for k, v in sorted(by_segment.items())]
