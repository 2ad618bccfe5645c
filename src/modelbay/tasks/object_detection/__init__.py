"""Object detection: COCO-80 boxes (CenterNet/NanoDet converted to ONNX, or a transformers DETR), mAP evaluation."""

from . import task  # noqa: F401 - registers the task
