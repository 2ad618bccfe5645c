"""Training as background jobs: ``POST /v1/jobs/train``, ``GET /v1/jobs[/{id}]``, ``POST /v1/jobs/{id}/cancel``.

An operator endpoint: ``data`` is an absolute path on the *server's* disk (optionally confined to
``jobs.data_dirs``); nothing is uploaded. Routes sit behind the same API-key middleware as every
other ``/v1`` route.

Each job runs ``python -m modelbay.train.job_runner`` in its own process, so a crash, a runaway
allocation or a kill ends the job and never the server; cancelling terminates that process
(SIGTERM, then SIGKILL after ``jobs.cancel_grace_s``), and because the artifact store publishes a
version only when training finished, a cancelled job leaves no version. Progress comes back as
JSON lines on the process's stdout. ``jobs.max_running`` jobs run at once (default 1), at most
``jobs.max_queued`` wait; beyond that a submission gets 429 with Retry-After.

Job state is kept **in memory**: a restarted server forgets its jobs (the models they trained stay
in the artifact store), and with several server processes each has its own jobs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..core.errors import BadInput, ModelbayError
from .config import JobsConfig

RUNNER = [sys.executable, "-m", "modelbay.train.job_runner"]
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


class TrainJobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(..., description="a task that supports training, e.g. text-classification")
    name: str = Field(..., description="name of the trained model; it is saved as NAME@<next version>")
    data: str = Field(..., description="absolute path of the labelled data on the server's disk (file or folder)")
    options: dict[str, Any] = Field(default_factory=dict, description="training options, as `modelbay train --param`")


@dataclass
class Job:
    id: str
    task: str
    name: str
    data: str
    options: dict[str, Any]
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


class JobManager:
    """Queue, processes and state of training jobs. Thread-safe; the routes call it from the event loop."""

    def __init__(self, config: JobsConfig, command: list[str] | None = None) -> None:
        self.config = config
        self.command = command or RUNNER
        self._jobs: dict[str, Job] = {}
        self._queue: deque[Job] = deque()
        self._running: set[str] = set()
        self._lock = threading.Lock()

    # -- what the routes call --------------------------------------------------------------
    def submit(self, request: TrainJobRequest) -> Job:
        """Validate (task, name, data) and queue the job; it starts now if a slot is free."""
        task, data = self._validate(request)
        with self._lock:
            if len(self._running) >= self.config.max_running and len(self._queue) >= self.config.max_queued:
                raise TooManyJobs(f"{len(self._running)} training job(s) running and {len(self._queue)} queued, "
                                  f"the most this server takes (jobs.max_queued={self.config.max_queued})",
                                  hint=f"retry after {RETRY_AFTER_S} s, or cancel a queued job")
            job = Job(id=f"job_{uuid.uuid4().hex[:12]}", task=task, name=request.name, data=data, options=request.options)
            self._jobs[job.id] = job
            self._queue.append(job)
            self._start_next_locked()
            self._prune_locked()
            return job

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no training job {job_id!r}", hint="GET /v1/jobs lists the jobs this server remembers")
        return job

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [job.public() for job in sorted(self._jobs.values(), key=lambda j: -j.created)]

    def public(self, job: Job) -> dict[str, Any]:
        with self._lock:
            return job.public()

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once, or ask a running one to stop (see the module docstring)."""
        with self._lock:
            job = self.get(job_id)
            if job.status == "queued":
                self._queue.remove(job)
                job.status, job.finished, job.cancel_requested = "cancelled", time.time(), True
                job.ended.set()
            elif job.status == "running" and not job.cancel_requested:
                job.cancel_requested = True
                if job.process is not None:
                    job.process.terminate()
                    timer = threading.Timer(self.config.cancel_grace_s, self._kill, args=(job,))
                    timer.daemon = True
                    timer.start()
            elif job.status in ("succeeded", "failed"):
                raise JobFinished(f"job {job_id} already {job.status}; there is nothing to cancel")
            return job

    def shutdown(self) -> None:
        """Cancel every queued and running job and wait for their processes (the server is stopping)."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.status in ("queued", "running")]
            for job in list(self._queue):
                self._queue.remove(job)
                job.status, job.finished, job.cancel_requested = "cancelled", time.time(), True
                job.ended.set()
        for job in jobs:
            if job.status == "running":
                self.cancel(job.id)
        for job in jobs:
            if not job.ended.wait(self.config.cancel_grace_s + 5):
                self._kill(job)

    # -- internals ----------------------------------------------------------------------
    def _validate(self, request: TrainJobRequest) -> tuple[str, str]:
        from ..core.registry import all_tasks, get_task
        from ..core.store import check_name

        cls = get_task(request.task)  # 404 naming the valid tasks
        if "train" not in cls.capabilities:
            trainable = ", ".join(sorted(c.name for c in all_tasks() if "train" in c.capabilities))
            raise BadInput(f"task {cls.name!r} cannot be trained; trainable: {trainable}")
        check_name(request.name)
        path = Path(request.data).expanduser()
        if not path.is_absolute():
            raise BadInput(f"data: {request.data!r} is not an absolute path; give the data's full path on the server")
        if not path.exists():
            raise BadInput(f"data: {path} does not exist on the server",
                           hint="training jobs read data from the server's own disk; copy the file there first")
        if self.config.data_dirs:
            resolved = path.resolve()
            if not any(resolved.is_relative_to(Path(d).expanduser().resolve()) for d in self.config.data_dirs):
                raise BadInput(f"data: {path} is outside the folders this server trains from",
                               hint=f"jobs.data_dirs: {', '.join(map(str, self.config.data_dirs))}")
        return cls.name, str(path)

    def _start_next_locked(self) -> None:
        while self._queue and len(self._running) < self.config.max_running:
            job = self._queue.popleft()
            log = tempfile.TemporaryFile()  # noqa: SIM115 - the watcher thread closes it when the job ends
            try:
                job.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                               text=True, encoding="utf-8", errors="replace",
                                               start_new_session=True)
                spec = {"task": job.task, "name": job.name, "data": job.data, "options": job.options}
                job.process.stdin.write(json.dumps(spec) + "\n")
                job.process.stdin.flush()  # stdin stays open: the runner cancels itself when it closes
            except OSError as exc:
                if job.process is not None:
                    job.process.kill()
                log.close()
                job.status, job.finished = "failed", time.time()
                job.error = {"code": "training_failed", "message": f"could not start the training process: {exc}"}
                job.ended.set()
                continue
            job.status, job.started = "running", time.time()
            self._running.add(job.id)
            threading.Thread(target=self._watch, args=(job, log), name=f"modelbay-{job.id}", daemon=True).start()

    def _watch(self, job: Job, log) -> None:
        proc = job.process
        try:
            final = self._read_events(job, proc)
        except Exception as exc:  # noqa: BLE001 - never leave a job "running" with nobody reading it
            proc.kill()
            final = {"event": "failed", "code": "training_failed", "message": f"lost the training process's output: {exc}"}
        code = proc.wait()
        tail = _tail(log)
        with self._lock:
            self._finish_locked(job, final, code, tail)
            self._running.discard(job.id)
            job.process = None
            self._start_next_locked()
            self._prune_locked()
        job.ended.set()
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def _read_events(self, job: Job, proc: subprocess.Popen) -> dict[str, Any] | None:
        """Follow the runner's JSON lines until it closes stdout; returns its final event, if any."""
        final: dict[str, Any] | None = None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            if event.get("event") == "progress":
                done, total = int(event.get("done", 0)), int(event.get("total", 0))
                with self._lock:
                    job.progress = {"stage": event.get("stage"), "done": done, "total": total,
                                    "fraction": round(min(1.0, done / total), 4) if total > 0 else 0.0}
            elif event.get("event") in ("succeeded", "failed", "cancelled"):
                final = event
        return final

    def _finish_locked(self, job: Job, final: dict[str, Any] | None, code: int, tail: str) -> None:
        job.finished = time.time()
        kind = (final or {}).get("event")
        if kind == "succeeded":  # also when a cancel came too late: the version exists, so say so
            card = final.get("card") or {}
            job.status, job.result = "succeeded", {"model": final.get("model"), "metrics": card.get("metrics", {})}
            job.progress["fraction"] = 1.0
        elif kind == "failed":
            job.status = "failed"
            job.error = {k: final[k] for k in ("code", "message", "hint") if final.get(k)}
        elif kind == "cancelled" or job.cancel_requested:
            job.status = "cancelled"
        else:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            job.status = "failed"
            job.error = {"code": "training_crashed", "message": f"the training process {how}; its last output: {tail}"}

    def _kill(self, job: Job) -> None:
        proc = job.process
        if proc is not None and proc.poll() is None:
            proc.kill()

    def _prune_locked(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.ended.is_set()), key=lambda j: j.created)
        for job in finished[: max(0, len(finished) - self.config.keep_finished)]:
            del self._jobs[job.id]


def _tail(log, max_chars: int = 1500) -> str:
    try:
        log.seek(0)
        text = log.read().decode("utf-8", "replace").strip()
        log.close()
    except (OSError, ValueError):
        return ""
    return text[-max_chars:] or "(nothing)"


def install(app: FastAPI, ctx) -> None:
    """Add the job routes (called by ``create_app``); the manager lives on ``app.state.jobs``."""
    config: JobsConfig = ctx.config.jobs
    if not config.enabled:
        return
    manager = JobManager(config)
    app.state.jobs = manager
    tags = ["training jobs"]

    async def submit(body: TrainJobRequest) -> JSONResponse:
        job = await anyio.to_thread.run_sync(manager.submit, body)  # validation touches the disk and the registry
        return JSONResponse(manager.public(job), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})

    async def list_jobs() -> dict:
        return {"jobs": manager.list()}

    async def get_job(job_id: str) -> dict:
        return manager.public(manager.get(job_id))

    async def cancel_job(job_id: str) -> dict:
        job = manager.cancel(job_id)
        await anyio.to_thread.run_sync(job.ended.wait, config.cancel_grace_s + 5)
        return manager.public(job)

    app.add_api_route("/v1/jobs/train", submit, methods=["POST"], status_code=202, tags=tags,
                      summary="Start training a model in the background (data: a path on the server)")
    app.add_api_route("/v1/jobs", list_jobs, methods=["GET"], tags=tags, summary="Training jobs, newest first")
    app.add_api_route("/v1/jobs/{job_id}", get_job, methods=["GET"], tags=tags, summary="A job's status and progress")
    app.add_api_route("/v1/jobs/{job_id}/cancel", cancel_job, methods=["POST"], tags=tags, summary="Cancel a job")
    app.add_api_route("/v1/jobs/{job_id}", cancel_job, methods=["DELETE"], tags=tags, summary="Cancel a job")

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):
        try:
            async with inner(a) as state:
                yield state
        finally:
            await anyio.to_thread.run_sync(manager.shutdown)

    app.router.lifespan_context = lifespan


__all__ = ["Job", "JobManager", "TrainJobRequest", "install"]
