"""Typed server configuration: a YAML file, ``MODELBAY_SERVE_*`` environment variables, CLI flags.

Precedence, highest first: CLI flags, environment, the YAML file (``--config``), defaults.
Nested fields use ``__`` in environment variables, e.g.
``MODELBAY_SERVE_BATCHING__MAX_WAIT_MS=2``.

>>> ServerConfig(preload=["sentiment"]).batching.max_batch_size
32
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from .browser_guard import normalize_allowed_host, normalize_origin


class BatchingConfig(BaseModel):
    """Dynamic batching of concurrent requests for one loaded model."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="merge concurrent requests into one forward pass")
    max_batch_size: int = Field(32, ge=1, le=1024, description="most items in one forward pass")
    max_wait_ms: float = Field(
        0.0, ge=0, le=1000,
        description="how long a batch that is not full waits for more requests; 0 = take what is queued (requests"
        " arriving during a forward pass still form the next batch, and a lone caller never waits)",
    )
    max_queue: int = Field(1024, ge=1, description="items waiting per model before requests get 503 + Retry-After")
    regroup_wait_ms: float = Field(
        3.0, ge=0, le=100,
        description="under steady concurrency, how long a batch may wait for the callers the previous batch just"
        " answered (their next requests), so N concurrent callers form one batch of N instead of alternating"
        " halves; never applies to a lone caller; 0 turns it off",
    )


class AuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    required: bool | None = Field(
        None, description="require an API key; default: required unless the server binds to loopback only"
    )
    keys_db: Path | None = Field(None, description="SQLite file of hashed API keys (default: <MODELBAY_HOME>/keys.db)")
    rate_limit_per_minute: int | None = Field(None, ge=1, description="requests per key per minute (None: no limit)")


def _default_data_dirs() -> list[Path]:
    from ..core.settings import get_settings

    return list(get_settings().data_dirs)


class JobsConfig(BaseModel):
    """Training jobs (``POST /v1/jobs/train``): each runs in its own process. See docs/serving.md."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="offer the /v1/jobs routes")
    max_running: int = Field(1, ge=1, description="jobs training at once (each takes the CPU it can get)")
    max_queued: int = Field(4, ge=0, description="jobs waiting to start before submissions get 429 + Retry-After")
    cancel_grace_s: float = Field(10.0, gt=0, description="after a cancel, how long a job may take to stop before it is killed")
    keep_finished: int = Field(100, ge=1, description="finished jobs remembered (in memory) for GET /v1/jobs")
    data_dirs: list[Path] = Field(
        default_factory=_default_data_dirs, min_length=1,
        description="the only folders on the server that jobs may name as data (symlinks followed; a relative path is"
        " taken from the first); anything else is a 403. Default: MODELBAY_DATA_DIRS, else <MODELBAY_HOME>/data",
    )
    uploads_dir: Path | None = Field(
        None, description="where uploaded training data waits while its job runs, a folder per job deleted when the"
        " job ends (default: <MODELBAY_HOME>/uploads); keep it outside data_dirs so no job can name another's upload",
    )
    upload_max_files: int = Field(20_000, ge=1, description="most files a .zip upload may hold")
    upload_max_unzipped_bytes: int = Field(
        1 << 30, ge=1, description="most bytes a .zip upload may extract to, all files together (zip bombs);"
        " the upload itself is capped by MODELBAY_LIMIT_MAX_BODY_BYTES",
    )


class ServerConfig(BaseSettings):
    """Everything `modelbay serve` can be told. See docs/serving.md."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_SERVE_", env_nested_delimiter="__", extra="forbid")

    host: str = Field("127.0.0.1", description="address to bind")
    port: int = Field(8000, ge=0, le=65535)
    preload: list[str] = Field(
        default_factory=list, description="task or task=model entries to load at start-up; 'all' = every task's default"
    )
    batching: BatchingConfig = Field(default_factory=BatchingConfig)
    batching_overrides: dict[str, BatchingConfig] = Field(
        default_factory=dict, description="per 'task' or 'task=model' batching settings"
    )
    request_timeout_s: float = Field(120.0, gt=0, description="a request still unanswered after this gets 504")
    memory_budget_gb: float | None = Field(
        None, gt=0, description="unload least-recently-used idle models when the process uses more than this"
    )
    auth: AuthConfig = Field(default_factory=AuthConfig)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="host names this server answers to besides localhost and IP addresses, e.g. 'modelbay.internal'"
        " or '*.example.com' ('*': any), checked against the Host header whenever requests are served without a key"
        " (DNS rebinding); setting it turns the check on when keys are required too. Env: comma-separated or JSON",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="web origins (scheme://host[:port]) whose pages may call this server besides its own pages,"
        " e.g. 'https://tools.example.com' ('*': any); other requests with an Origin header get 403",
    )
    access_log_json: bool = Field(True, description="one JSON line per request on stderr, with its request id")
    jobs: JobsConfig = Field(default_factory=JobsConfig)

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):  # from the environment: a JSON list, or comma-separated
            return json.loads(value) if value.lstrip().startswith("[") else [v for v in value.split(",") if v.strip()]
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, hosts: list[str]) -> list[str]:
        return [normalize_allowed_host(h) for h in hosts]

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        try:
            return [normalize_origin(o) for o in origins]
        except ValueError as exc:
            raise ValueError(f"allowed_origins: {exc}; write e.g. 'https://tools.example.com'") from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        # CLI flags arrive as init kwargs and win; the YAML file is passed as init kwargs below them (from_file)
        return (init_settings, env_settings)

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> ServerConfig:
        """Read ``path`` (YAML), then environment variables, then ``overrides`` (CLI flags; None = not given)."""
        import yaml

        data: dict[str, Any] = {}
        if path is not None:
            p = Path(path)
            if not p.is_file():
                raise ValueError(f"config file not found: {p}")
            try:
                data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise ValueError(f"{p}: not valid YAML ({exc})") from None
            if not isinstance(data, dict):
                raise ValueError(f"{p}: expected a mapping of settings at the top level")
        env_only = cls.model_validate({})  # environment over defaults
        env_set = env_only.model_dump(exclude_defaults=True)
        merged = _deep_merge(data, env_set)
        merged = _deep_merge(merged, {k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(merged)

    def batching_for(self, task: str, model: str) -> BatchingConfig:
        return self.batching_overrides.get(f"{task}={model}") or self.batching_overrides.get(task) or self.batching

    @property
    def loopback_only(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def auth_required(self) -> bool:
        return self.auth.required if self.auth.required is not None else not self.loopback_only


def _deep_merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


__all__ = ["AuthConfig", "BatchingConfig", "JobsConfig", "PydanticBaseSettingsSource", "ServerConfig"]
