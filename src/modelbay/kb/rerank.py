"""The optional rerank step of knowledge-base search: a cross-encoder scores (query, passage) pairs.

Hybrid retrieval embeds the query and each chunk separately; a cross-encoder reads the two
together, which ranks the few best candidates more precisely at the cost of one forward pass per
pair. ``KnowledgeBase.search(..., rerank="bge-reranker-base")`` reranks the top candidates of the
chosen mode with it. A reranker is a catalog model of task ``rerank`` (a sentence-transformers
``CrossEncoder`` with one output), loaded on first use and shared by every knowledge base of the
process; a lock runs one forward pass at a time per model (on a small CPU concurrent passes only
thrash).

No reranker's weights ship in a package: the catalog's rerankers come from the hub
(``MODELBAY_OFFLINE=0``, or a copy in ``$MODELBAY_MODELS_DIR/<name>``).
"""

from __future__ import annotations

import threading

import numpy as np

from ..core.errors import BadInput

RERANK_TASK = "rerank"
BATCH_PAIRS = 32


class CrossEncoderReranker:
    """A catalog cross-encoder: ``scores(query, texts)`` is one relevance score per text, higher is better.

    >>> reranker = CrossEncoderReranker("ms-marco-minilm-l6-v2")                        # doctest: +SKIP
    >>> reranker.scores("how do I get a refund?", ["Refunds take 5 days.", "We ship to Norway."])  # doctest: +SKIP
    array([0.97, 0.01], dtype=float32)
    """

    def __init__(self, name: str) -> None:
        from ..core.catalog import get_spec, resolve
        from ..core.loading import prepare_environment

        prepare_environment()
        spec = get_spec(name)  # an unknown name: ModelNotFound (404) listing the known ones
        if spec.task != RERANK_TASK:
            raise BadInput(f"model {name!r} is a {spec.task!r} model, not a reranker",
                           hint=f"`modelbay models` lists the models; rerankers have task {RERANK_TASK!r}")
        resolved = resolve(name)  # not installed: ModelUnavailable saying how to get it
        from sentence_transformers import CrossEncoder

        self.name = name
        self._lock = threading.Lock()
        self._model = CrossEncoder(str(resolved.path), device="cpu", local_files_only=True,
                                   max_length=spec.options.get("max_length"))
        if self._model.num_labels != 1:
            raise BadInput(f"model {name!r} has {self._model.num_labels} outputs; a reranker has one relevance score",
                           hint=f"`modelbay models` lists the models; rerankers have task {RERANK_TASK!r}")

    def scores(self, query: str, texts: list[str]) -> np.ndarray:
        """float32 ``(len(texts),)`` relevance of each text to ``query`` (the model's own scale)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            out = self._model.predict([(query, text) for text in texts], batch_size=BATCH_PAIRS,
                                      show_progress_bar=False)
        return np.asarray(out, dtype=np.float32).reshape(len(texts))


_loaded: dict[str, CrossEncoderReranker] = {}
_loading = threading.Lock()


def get_reranker(name: str) -> CrossEncoderReranker:
    """The shared reranker of a catalog model, loaded on first use (a failed load is retried next time)."""
    with _loading:
        if name not in _loaded:
            _loaded[name] = CrossEncoderReranker(name)
        return _loaded[name]


__all__ = ["RERANK_TASK", "CrossEncoderReranker", "get_reranker"]
