"""Image segmentation: classical regions, hub SegFormer/Mask2Former models, and heads trained on your own masks."""

from . import task  # noqa: F401 - registers the task
