"""Image classification: EfficientNet-Lite0 ImageNet labels, and heads trained on your own folders of images."""

from . import task  # noqa: F401 - registers the task
