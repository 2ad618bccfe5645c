"""The queue, the processes and the state of training jobs (see ``serve/jobs.py`` for the routes).

Every job's data is checked before anything reads it: a server path must resolve (symlinks followed)
inside ``jobs.data_dirs`` (403 otherwise, the same answer whether the file exists or not); an upload
is stored in the job's own folder. The training process then runs *confined* to those folders
(``MODELBAY_DATA_DIRS`` / ``MODELBAY_DATA_CONFINED`` in its environment; ``modelbay.data.roots``),
so a file the data names (an image path in a table, a symlink in a folder) is held to them too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from ..data.roots import DataOutsideRoots, resolve_in_roots, resolved_roots
from .config import JobsConfig
from .job_models import (
    RETRY_AFTER_S,
    Job,
    JobFinished,
    JobNotFound,
    TooManyJobs,
    TrainJobFields,
    TrainJobRequest,
    record_outcome,
    stderr_tail,
)
from .job_uploads import Upload, store_upload

RUNNER = [sys.executable, "-m", "modelbay.train.job_runner"]


class JobManager:
    """Queue, processes and state of training jobs. Thread-safe; the routes call it from worker threads."""

    def __init__(self, config: JobsConfig, command: list[str] | None = None) -> None:
        from ..core.settings import get_settings

        self.config = config
        self.command = command or RUNNER
        self.roots = resolved_roots(config.data_dirs)
        self.uploads_dir = Path(config.uploads_dir or get_settings().home / "uploads").expanduser().resolve()
        self._jobs: dict[str, Job] = {}
        self._queue: deque[Job] = deque()
        self._running: set[str] = set()
        self._lock = threading.Lock()

    # -- what the routes call --------------------------------------------------------------
    def submit(self, request: TrainJobFields, upload: Upload | None = None) -> Job:
        """Check (task, name, data), store an upload, and queue the job; it starts now if a slot is free."""
        task = self._check_task(request)
        job = Job(id=f"job_{uuid.uuid4().hex[:12]}", task=task, name=request.name, data="", options=request.options)
        if upload is None:
            if not isinstance(request, TrainJobRequest):
                raise BadInput("data: give a path on the server (JSON) or upload a file (multipart/form-data)")
            job.data_path = self._server_path(request.data)
            job.data, job.roots = str(job.data_path), self.roots
        else:
            with self._lock:
                self._check_capacity_locked()  # before copying: a full queue costs the server no disk work
            stored = store_upload(upload, self.uploads_dir / job.id, self.config)
            job.data, job.data_path = f"upload:{stored.filename}", stored.data
            job.roots, job.upload_dir = [stored.folder.resolve()], stored.folder
        try:
            with self._lock:
                self._check_capacity_locked()
                self._jobs[job.id] = job
                self._queue.append(job)
                self._start_next_locked()
                self._prune_locked()
        except BaseException:
            _remove_upload(job)
            raise
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
        """Cancel a queued job at once, or ask a running one to stop (see ``serve/jobs.py``)."""
        with self._lock:
            job = self.get(job_id)
            if job.status == "queued":
                self._queue.remove(job)
                job.status, job.finished, job.cancel_requested = "cancelled", time.time(), True
                _end(job)
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
                _end(job)
        for job in jobs:
            if job.status == "running":
                self.cancel(job.id)
        for job in jobs:
            if not job.ended.wait(self.config.cancel_grace_s + 5):
                self._kill(job)

    # -- checks ---------------------------------------------------------------------------
    def _check_task(self, request: TrainJobFields) -> str:
        from ..core.protocols import Trainable
        from ..core.registry import get_task, tasks_with
        from ..core.store import check_name

        cls = get_task(request.task)  # 404 naming the valid tasks
        if not issubclass(cls, Trainable):
            raise BadInput(f"task {cls.name!r} cannot be trained; trainable: {', '.join(tasks_with('train'))}")
        check_name(request.name)
        return cls.name

    def _server_path(self, data: str) -> Path:
        """``data`` resolved inside the data folders (403), then checked to exist (422): in that order, so a
        refusal says nothing about files outside them."""
        path = resolve_in_roots(data, self.roots)
        if path.is_relative_to(self.uploads_dir):
            raise DataOutsideRoots(f"data: {data} is in the server's uploads folder; a job reads only its own upload",
                                   hint="upload the data with the job (multipart/form-data)")
        try:
            exists = path.exists()
        except OSError as exc:  # e.g. a name too long for the file system
            raise BadInput(f"data: not a usable path ({type(exc).__name__})") from None
        if not exists:
            raise BadInput(f"data: {path} does not exist on the server",
                           hint=f"relative paths are taken from {self.roots[0]}; or upload the data with the job")
        return path

    def _check_capacity_locked(self) -> None:
        if len(self._running) >= self.config.max_running and len(self._queue) >= self.config.max_queued:
            raise TooManyJobs(f"{len(self._running)} training job(s) running and {len(self._queue)} queued, "
                              f"the most this server takes (jobs.max_queued={self.config.max_queued})",
                              hint=f"retry after {RETRY_AFTER_S} s, or cancel a queued job")

    # -- processes ------------------------------------------------------------------------
    def _start_next_locked(self) -> None:
        while self._queue and len(self._running) < self.config.max_running:
            job = self._queue.popleft()
            log = tempfile.TemporaryFile()  # noqa: SIM115 - the watcher thread closes it when the job ends
            # the process may read only this job's data folders, and its data errors quote no names
            env = {**os.environ, "MODELBAY_DATA_DIRS": json.dumps([str(r) for r in job.roots]),
                   "MODELBAY_DATA_CONFINED": "1"}
            try:
                job.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                               text=True, encoding="utf-8", errors="replace",
                                               start_new_session=True, env=env)
                spec = {"task": job.task, "name": job.name, "data": str(job.data_path), "options": job.options}
                job.process.stdin.write(json.dumps(spec) + "\n")
                job.process.stdin.flush()  # stdin stays open: the runner cancels itself when it closes
            except OSError as exc:
                if job.process is not None:
                    job.process.kill()
                log.close()
                job.status, job.finished = "failed", time.time()
                job.error = {"code": "training_failed", "message": f"could not start the training process: {exc}"}
                _end(job)
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
        tail = stderr_tail(log)
        with self._lock:
            record_outcome(job, final, code, tail)
            self._running.discard(job.id)
            job.process = None
            self._start_next_locked()
            self._prune_locked()
        _end(job)
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

    def _kill(self, job: Job) -> None:
        proc = job.process
        if proc is not None and proc.poll() is None:
            proc.kill()

    def _prune_locked(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.ended.is_set()), key=lambda j: j.created)
        for job in finished[: max(0, len(finished) - self.config.keep_finished)]:
            del self._jobs[job.id]


def _end(job: Job) -> None:
    """The job is over: its upload is deleted and whoever waits on it wakes."""
    _remove_upload(job)
    job.ended.set()


def _remove_upload(job: Job) -> None:
    if job.upload_dir is not None:
        shutil.rmtree(job.upload_dir, ignore_errors=True)


__all__ = ["RUNNER", "JobManager"]
