"""video-analysis: any image task run on sampled frames, summarised over time.

The per-frame task is chosen per item (``task``, ``model``, ``params``) and loaded through the
registry. Its outputs are summarised by their shape (``aggregate.py``): classification labels
give top labels and label spans, boxes (detections, faces) give first/last seen and counts
per second. Every frame's own output is kept in ``frames``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from pydantic import BaseModel, Field

from ...core.errors import UnknownTask
from ...core.protocols import ProgressEvent, Rendering
from ...core.registry import get_task, register
from ...core.task import Task, TaskOutput
from .aggregate import LabelSpan, SecondCounts, Seen, TopLabel, label_spans, seen_and_counts, top_labels
from .base import VideoInput, VideoTaskBase, video_cls_example

#: the per-frame task when neither the item nor the chosen model says: detection when it is installed
PREFERRED_TASK = "object-detection"
FALLBACK_TASK = "image-classification"


class VideoAnalysisInput(VideoInput):
    task: str | None = Field(None, description="image task run on each frame (default: the task of the model the "
                                               "video task was loaded with; object-detection when it is registered)")
    model: str | None = Field(None, description="model of that task (default: the loaded model, or the task's default)")
    params: dict[str, Any] = Field(default_factory=dict, description="other fields of the image task's input, "
                                                                     "e.g. {\"top_k\": 3}")
    top_k: int = Field(5, ge=1, le=1000, description="how many overall labels to return")


class FrameOutput(BaseModel):
    time_s: float
    output: dict[str, Any] = Field(..., description="the image task's output for this frame")


class VideoAnalysisOutput(TaskOutput):
    task: str
    model: str
    duration_s: float | None = Field(..., description="seconds analysed (the header's duration, cut to max_seconds)")
    frames_analysed: int
    top_labels: list[TopLabel] = Field(default_factory=list, description="labels by mean score over frames")
    label_spans: list[LabelSpan] = Field(default_factory=list, description="time spans with the same top label")
    objects: list[Seen] = Field(default_factory=list, description="boxed things found: first/last seen, most at once")
    counts_per_second: list[SecondCounts] = Field(default_factory=list)
    frames: list[FrameOutput]

    def summary(self) -> str:
        parts = [f"{self.frames_analysed} frames by {self.task}"]
        if self.objects:
            parts.append(", ".join(f"{o.label} x{o.max_count} from {o.first_seen_s:.1f}s" for o in self.objects[:6]))
        if self.top_labels:
            parts.append(", ".join(f"{t.label} {t.score:.2f}" for t in self.top_labels[:3]))
        return "; ".join(parts)


@register
class VideoAnalysis(VideoTaskBase, Task[VideoAnalysisInput, VideoAnalysisOutput], Rendering):
    name = "video-analysis"
    aliases = ("analyze-video", "analyse-video")
    description = ("Any image task (detection, classification, faces…) on frames sampled at a fixed rate or at scene "
                   "changes: labels over time, objects first seen and counted per second, every frame's output")
    Input = VideoAnalysisInput
    Output = VideoAnalysisOutput
    default_model = "efficientnet-lite0"
    render_media_type = "video/mp4"

    @classmethod
    def runs_models_of(cls, task: str) -> bool:
        """Models of any task that takes an image: they run per frame."""
        if task == cls.name:
            return True
        try:
            return "image" in get_task(task).media_fields.values()
        except UnknownTask:
            return False

    @classmethod
    def examples(cls) -> list:
        """Two small MP4s drawn in code (mpeg4, 10 fps), one sampled at scene changes."""
        return [video_cls_example(3.0, (96, 64), [(200, 30, 30), (30, 200, 30), (30, 30, 200)]),
                {"video": video_cls_example(2.0, (80, 60), [(128, 128, 128), (220, 200, 40)]), "sampling": "scenes",
                 "sample_fps": 4.0, "top_k": 3}]

    def frame_choice(self, item: VideoAnalysisInput) -> tuple[str, str | None]:
        """(task, model) run per frame: the item's, else the loaded model's, but detection instead of the default
        classifier when object-detection and its default model are installed."""
        spec = self.model.spec
        if item.task is not None:
            same = item.task == spec.task or get_task(item.task).name == spec.task
            return item.task, item.model or (spec.name if same else None)
        if item.model is not None:
            from ...core.catalog import get_spec

            return get_spec(item.model).task, item.model
        if spec.name == self.default_model and spec.task == FALLBACK_TASK and _preferred_is_installed():
            return PREFERRED_TASK, None
        return spec.task, spec.name

    def analyse(self, item: VideoAnalysisInput, row: int) -> Generator[ProgressEvent, None, VideoAnalysisOutput]:
        frame_cls, frame_task = self.frame_task(*self.frame_choice(item))
        results, span_s = yield from self.walk(item, row, frame_cls, frame_task, item.params)
        frames = [(r.time_s, r.output.model_dump(mode="json")) for r in results]
        end_s = span_s if span_s is not None else (frames[-1][0] + 1 / item.sample_fps if frames else 0.0)
        objects, counts = seen_and_counts(frames)
        return VideoAnalysisOutput(
            task=frame_cls.name, model=frame_task.model.spec.name,
            duration_s=None if span_s is None else round(span_s, 3), frames_analysed=len(frames),
            top_labels=top_labels(frames, item.top_k), label_spans=label_spans(frames, end_s),
            objects=objects, counts_per_second=counts,
            frames=[FrameOutput(time_s=t, output=o) for t, o in frames])

    def render(self, item: VideoAnalysisInput, output: VideoAnalysisOutput) -> bytes:
        """An MP4 of the sampled frames, each drawn by its image task (boxes, …) or captioned with its summary."""
        from .frames import frame_item
        from .render import annotate, encode_mp4

        frame_cls, frame_task = self.frame_task(output.task, output.model)
        by_time = {f.time_s: f.output for f in output.frames}

        def drawn():
            for frame in self.frames_of(item):
                out = by_time.get(round(frame.time_s, 3))
                if out is None:  # past where the analysis stopped (cancelled)
                    return
                frame_out = frame_cls.Output.model_validate(out)
                frame_in = frame_item(frame_cls, frame.image, item.params)
                yield frame.time_s, annotate(frame_task, frame_in, frame_out, frame.image, frame.time_s)

        return encode_mp4(drawn(), output.duration_s)


def _preferred_is_installed() -> bool:
    from ...core.catalog import get_spec, locate
    from ...core.errors import ModelNotFound

    try:
        return locate(get_spec(get_task(PREFERRED_TASK).default_model)) is not None
    except (UnknownTask, ModelNotFound):
        return False
