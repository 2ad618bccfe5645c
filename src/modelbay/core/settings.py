"""Typed settings, read from ``MODELBAY_*`` environment variables.

Nothing here is mutated at import; call :func:`get_settings` to read the
current environment (cached; ``get_settings.cache_clear()`` in tests).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_home() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "modelbay"


class Limits(BaseSettings):
    """Limits on what one request may carry; exceeding one is a 4xx, never a crash."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_LIMIT_", extra="ignore")

    max_body_bytes: int = Field(96 * 1024 * 1024, description="HTTP request body size limit")
    max_items: int = Field(256, description="items per request")
    max_text_chars: int = Field(100_000, description="characters per text item")
    max_media_bytes: int = Field(64 * 1024 * 1024, description="encoded bytes per image/audio item")
    max_image_pixels: int = Field(40_000_000, description="decoded pixels per image (decompression bombs)")
    max_audio_s: float = Field(3600.0, description="seconds of audio per item")
    max_audio_channels: int = Field(8, description="channels per audio item (7.1 is 8); checked on the header, before decoding")
    max_new_tokens: int = Field(4096, description="tokens one generation may ask for (chat max_new_tokens / max_tokens)")
    max_video_bytes: int = Field(512 * 1024 * 1024, description="encoded bytes per video item (paths; HTTP bodies are bounded by max_body_bytes)")
    max_video_s: float = Field(3600.0, description="seconds of video one item may analyse (checked on the header, then while decoding)")
    max_video_frames: int = Field(250_000, description="frames decoded per video item (decoding work; 1 h at 60 fps is 216,000)")


class Settings(BaseSettings):
    """Global settings. ``offline`` is True unless the user opts in to hub downloads."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_", extra="ignore")

    offline: bool = Field(True, description="never touch the network; MODELBAY_OFFLINE=0 allows hub downloads")
    home: Path = Field(default_factory=_default_home, description="cache for converted/joined model files")
    models_dir: Path | None = Field(None, description="extra directory of local models (<dir>/<name>/)")
    hub_cache: Path | None = Field(None, description="Hugging Face hub cache to read (default: the hub's own default)")
    catalog_path: list[Path] = Field(
        default_factory=list, description="extra directories of model specs (*.yaml), besides <home>/catalog"
    )
    device: str = Field("cpu", description="torch device for tasks that use torch")
    num_threads: int | None = Field(None, description="intra-op threads for torch/onnx (default: all cores)")
    precision: Literal["float32", "bfloat16", "auto"] = Field(
        "float32", description="arithmetic of the torch text encoders (multilingual-e5-small's engine, sentence-transformers "
        "models such as MiniLM) on the CPU: float32 (the same outputs on every machine), bfloat16, or auto = bfloat16 "
        "where the CPU computes it natively (AVX512-BF16, AMX)")
    limits: Limits = Field(default_factory=Limits)
    data_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="folders the server's training jobs may read data from, separated by "
        f"{os.pathsep!r} (MODELBAY_DATA_DIRS); default: <home>/data. The CLI and the Python API read any path they are given")
    data_confined: bool = Field(
        False, description="set by the server for its training-job processes: every data file (and every file a table "
        "names) must lie in data_dirs, and data errors name no columns or labels (MODELBAY_DATA_CONFINED)")

    @field_validator("data_dirs", mode="before")
    @classmethod
    def _split_data_dirs(cls, value: Any) -> Any:
        # os.pathsep-separated like PATH; a JSON list works too, as for the other list settings
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part for part in text.split(os.pathsep) if part.strip()]
        return value

    @model_validator(mode="after")
    def _default_data_dirs(self) -> Settings:
        if not self.data_dirs:
            self.data_dirs = [self.home / "data"]
        return self

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def catalog_dirs(self) -> tuple[Path, ...]:
        """Where user model specs live: <home>/catalog, then MODELBAY_CATALOG_PATH (JSON list or one dir)."""
        return (self.home / "catalog", *self.catalog_path)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def new_tokens_within_limit(value: Any, default: int) -> Any:
    """A request's ``max_new_tokens``: ``default`` (capped by the limit) when None; over the limit, a ValueError.

    For the ``mode="before"`` validators of the generating tasks' inputs (chat, summaries, content…).
    """
    limit = get_settings().limits.max_new_tokens
    if value is None:
        return min(default, limit)
    if isinstance(value, int) and not isinstance(value, bool) and value > limit:
        raise ValueError(f"{value} new tokens asked; the limit is {limit} (MODELBAY_LIMIT_MAX_NEW_TOKENS)")
    return value

