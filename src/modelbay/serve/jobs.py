"""Training as background jobs: ``POST /v1/jobs/train``, ``GET /v1/jobs[/{id}]``, ``POST /v1/jobs/{id}/cancel``.

The data comes one of two ways:

* **JSON** ``{"task", "name", "data", "options"}``: ``data`` is a path on the server that must resolve,
  symlinks followed, inside one of ``jobs.data_dirs`` (``MODELBAY_DATA_DIRS``, default
  ``<MODELBAY_HOME>/data``; a relative path is taken from the first). Anything else is a 403 naming
  the folders, checked before the path is touched.
* **multipart/form-data** with ``task``, ``name``, ``options`` (JSON text) and one ``file``: a table,
  a CoNLL file, or a ``.zip`` of a folder (``serve/job_uploads.py``). The client needs no server path.

Each job runs ``python -m modelbay.train.job_runner`` in its own process, confined to its data
(``modelbay.data.roots``), so a crash, a runaway allocation or a kill ends the job and never the
server; cancelling terminates that process (SIGTERM, then SIGKILL after ``jobs.cancel_grace_s``), and
because the artifact store publishes a version only when training finished, a cancelled job leaves no
version. Progress comes back as JSON lines on the process's stdout. ``jobs.max_running`` jobs run at
once (default 1), at most ``jobs.max_queued`` wait; beyond that a submission gets 429 with Retry-After.
A job's error never quotes the data (``serve/job_models.py``). Routes sit behind the same API-key
middleware as every other ``/v1`` route.

Job state is kept **in memory**: a restarted server forgets its jobs (the models they trained stay
in the artifact store), and with several server processes each has its own jobs.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from .config import JobsConfig
from .job_manager import JobManager
from .job_models import Job, TrainJobFields, TrainJobRequest
from .job_uploads import FORM_FIELDS, read_upload_form

_UPLOAD_SCHEMA = {
    "type": "object", "required": ["task", "name", "file"],
    "properties": {
        **{k: v for k, v in TrainJobFields.model_json_schema()["properties"].items() if k in FORM_FIELDS},
        "options": {"type": "string", "description": 'training options as a JSON object, e.g. {"label_col": "intent"}'},
        "file": {"type": "string", "format": "binary",
                 "description": "the labelled data: a table, a CoNLL/word-tag/JSONL file, or a .zip of a folder "
                                "(e.g. a folder per class of images); kept while the job runs, then deleted"},
    },
}
_TRAIN_OPENAPI = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": TrainJobRequest.model_json_schema()},
    "multipart/form-data": {"schema": _UPLOAD_SCHEMA},
}}}


async def _submission(request: Request):
    """(fields, upload or None) from either body: JSON naming a server path, or multipart with a file."""
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return await read_upload_form(request)
    try:
        return TrainJobRequest.model_validate_json(await request.body()), None
    except ValidationError as exc:  # the app's handler answers 422 naming the field
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None


def install(app: FastAPI, ctx) -> None:
    """Add the job routes (called by ``create_app``); the manager lives on ``app.state.jobs``."""
    config: JobsConfig = ctx.config.jobs
    if not config.enabled:
        return
    manager = JobManager(config)
    app.state.jobs = manager
    tags = ["training jobs"]

    async def submit(request: Request) -> JSONResponse:
        fields, upload = await _submission(request)
        job = await anyio.to_thread.run_sync(manager.submit, fields, upload)  # checks and copies touch the disk
        return JSONResponse(manager.public(job), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})

    async def list_jobs() -> dict:
        return {"jobs": manager.list()}

    async def get_job(job_id: str) -> dict:
        return manager.public(manager.get(job_id))

    async def cancel_job(job_id: str) -> dict:
        job = await anyio.to_thread.run_sync(manager.cancel, job_id)  # a queued job's upload is deleted here
        await anyio.to_thread.run_sync(job.ended.wait, config.cancel_grace_s + 5)
        return manager.public(job)

    app.add_api_route("/v1/jobs/train", submit, methods=["POST"], status_code=202, tags=tags,
                      openapi_extra=_TRAIN_OPENAPI,
                      summary="Start training a model in the background (data: a path in the server's data folders, "
                              "or an uploaded file)")
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


__all__ = ["Job", "JobManager", "TrainJobFields", "TrainJobRequest", "install"]
