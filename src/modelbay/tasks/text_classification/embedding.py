"""Sentence embeddings of training texts: a catalog embeddings model, batched by length, cached on disk.

>>> embed_texts(["good", "bad"], "all-minilm-l6-v2").shape   # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ...core.errors import BadInput

__all__ = ["ProgressCallback", "embed_texts"]

#: callback(done, total) called after each embedded batch
ProgressCallback = Callable[[int, int], None]


def progress_bar(total: int, description: str):
    """A Rich progress bar as a (callback, close) pair; silent when Rich is missing."""
    try:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    except ImportError:
        return (lambda done, total: None), (lambda: None)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=False)
    task_id = bar.add_task(description, total=total)
    bar.start()
    return (lambda done, _total: bar.update(task_id, completed=done)), bar.stop


def embed_texts(
    texts: list[str],
    embedder: str = "multilingual-e5-small",
    kind: str = "query",
    *,
    batch_size: int = 32,
    max_chars: int = 512,
    progress: bool | ProgressCallback = False,
    cache_dir: str | Path | None = None,
):
    """Embed texts with a catalog embeddings model into an (n, dim) float32 array.

    Texts are cut to ``max_chars``, embedded in batches of similar length (padding
    costs time) and, with ``cache_dir``, cached on disk. ``progress`` is True for a
    Rich progress bar or a ``callback(done, total)``.

    >>> embed_texts(["good", "bad"], "all-minilm-l6-v2").shape   # doctest: +SKIP
    (2, 384)
    """
    import numpy as np

    from ...core.loading import load_task
    from ...ml.embedding_cache import EmbeddingCache

    if kind not in ("query", "passage"):
        raise BadInput(f"embed kind {kind!r}: expected 'query' or 'passage'")
    texts = [str(t)[:max_chars] for t in texts]
    cache = EmbeddingCache(Path(cache_dir) / f"{embedder}-{kind}") if cache_dir else None
    found = cache.get(texts) if cache else {}
    todo = sorted((i for i in range(len(texts)) if i not in found), key=lambda i: len(texts[i]))
    out = None
    if found:
        dim = len(next(iter(found.values())))
        out = np.empty((len(texts), dim), dtype=np.float32)
        for i, v in found.items():
            out[i] = v
    if todo:
        callback, close = progress_bar(len(todo), f"embedding with {embedder}") if progress is True else (progress or (lambda d, t: None), lambda: None)
        model = load_task("embeddings", embedder)
        try:
            for start in range(0, len(todo), batch_size):
                idx = todo[start:start + batch_size]
                batch = [texts[i] for i in idx]
                vectors = np.asarray(model.encode(batch, [kind] * len(batch)), dtype=np.float32)
                if out is None:
                    out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                out[idx] = vectors
                if cache:
                    cache.put(batch, vectors)
                callback(min(start + batch_size, len(todo)), len(todo))
        finally:
            close()
    if out is None:
        return np.zeros((0, 0), dtype=np.float32)
    return out
