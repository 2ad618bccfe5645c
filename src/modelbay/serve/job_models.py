"""What a training job is: the request, its state, its errors, and what a finished job tells the client.

A job's error never carries the data's content: errors the trainer raised on purpose (``ModelbayError``:
bad data, bad options) are written not to quote it (``modelbay.data.roots``), and anything else (a
library's exception, a crash and its stderr) goes to the server's log, while the client is told the
kind of failure and where the details are.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..core.errors import ModelbayError

log = logging.getLogger("modelbay.jobs")
RETRY_AFTER_S = 30


class JobNotFound(ModelbayError):
    status_code = 404
    code = "job_not_found"


class JobFinished(ModelbayError):
    status_code = 409
    code = "job_finished"


class TooManyJobs(ModelbayError):
    status_code = 429
    code = "too_many_jobs"
    retry_after_s = RETRY_AFTER_S


class TrainJobFields(BaseModel):
    """What every training job names: the task, the model's name and the training options."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(..., description="a task that supports training, e.g. text-classification")
    name: str = Field(..., description="name of the trained model; it is saved as NAME@<next version>")
    options: dict[str, Any] = Field(default_factory=dict, description="training options, as `modelbay train --param`")


class TrainJobRequest(TrainJobFields):
    """The JSON form of ``POST /v1/jobs/train``: data already on the server."""

    data: str = Field(..., description="the labelled data (file or folder) on the server: a path inside one of the "
                                       "server's data folders (MODELBAY_DATA_DIRS); a relative path is taken from the first")


@dataclass
class Job:
    id: str
    task: str
    name: str
    data: str                        # what the client is shown: the resolved path, or "upload:<file name>"
    options: dict[str, Any]
    data_path: Path = field(default=Path(), repr=False)       # what the trainer reads
    roots: list[Path] = field(default_factory=list, repr=False)  # where the trainer may read (its process is confined)
    upload_dir: Path | None = field(default=None, repr=False)  # deleted when the job ends
    status: str = "queued"  # queued, running, succeeded, failed, cancelled
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    progress: dict[str, Any] = field(default_factory=lambda: {"stage": None, "done": 0, "total": 0, "fraction": 0.0})
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    cancel_requested: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)
    ended: threading.Event = field(default_factory=threading.Event, repr=False)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "task": self.task, "name": self.name, "data": self.data, "options": self.options,
            "status": self.status, "progress": dict(self.progress), "cancel_requested": self.cancel_requested,
            "created": _iso(self.created), "started": _iso(self.started), "finished": _iso(self.finished),
            "result": self.result, "error": self.error,
        }


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_outcome(job: Job, final: dict[str, Any] | None, exit_code: int, stderr_tail: str) -> None:
    """Set the job's status, result or error from the runner's last event and exit code (the caller holds the lock)."""
    job.finished = time.time()
    kind = (final or {}).get("event")
    if kind == "succeeded":  # also when a cancel came too late: the version exists, so say so
        card = final.get("card") or {}
        job.status = "succeeded"
        job.result = {"model": final.get("model"), "metrics": card.get("metrics", {}),
                      "warnings": list(card.get("warnings") or [])}
        job.progress["fraction"] = 1.0
    elif kind == "failed":
        job.status = "failed"
        job.error = _client_error(job, final, stderr_tail)
    elif kind == "cancelled" or job.cancel_requested:
        job.status = "cancelled"
    else:
        how = f"was killed by signal {-exit_code}" if exit_code < 0 else f"exited with code {exit_code}"
        log.warning("training job %s: the training process %s; its last output:\n%s", job.id, how, stderr_tail)
        job.status = "failed"
        job.error = {"code": "training_crashed", "message": f"the training process {how}",
                     "hint": f"the server's log has its last output (job {job.id})"}


def _client_error(job: Job, final: dict[str, Any], stderr_tail: str) -> dict[str, Any]:
    """The runner's failure as the client sees it: ModelbayErrors as they are, anything else by its kind only."""
    error = {k: final[k] for k in ("code", "message", "hint") if final.get(k)}
    if error.get("code") != "training_failed":  # a ModelbayError: written for the client, never quoting data
        return error
    # any other exception: its text may quote the data (a library's message, a traceback), so it stays in the log
    message = str(final.get("message", ""))
    kind = message.split(":", 1)[0] if message.split(":", 1)[0].isidentifier() else "an error"
    log.warning("training job %s failed: %s\n%s", job.id, message, stderr_tail)
    return {"code": "training_failed", "message": f"training failed with {kind}",
            "hint": f"the server's log has the details (job {job.id})"}


def stderr_tail(log_file, max_chars: int = 1500) -> str:
    """The end of the runner's stderr (for the server's log only), and close the file."""
    try:
        log_file.seek(0)
        text = log_file.read().decode("utf-8", "replace").strip()
        log_file.close()
    except (OSError, ValueError):
        return ""
    return text[-max_chars:] or "(nothing)"


__all__ = ["Job", "JobFinished", "JobNotFound", "TooManyJobs", "TrainJobFields", "TrainJobRequest", "record_outcome",
           "stderr_tail"]
