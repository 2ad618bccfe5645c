"""Speech recognition: faster-whisper, segments with timestamps."""

from . import task  # noqa: F401 - registers the task
