"""Video: any image task on sampled frames (video-analysis) and frame-averaged classification (video-classification).

Decoding, sampling and its limits are ``modelbay.core.video``; this package runs the image task per
frame (loaded through the registry), summarises the outputs over time and renders annotated MP4s.
"""

from . import analysis, classification  # noqa: F401 - registers the tasks
