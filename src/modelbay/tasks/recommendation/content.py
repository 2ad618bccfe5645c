"""Content-based cold start: for a user with no known items, rank items by how close their text is to
what the user says they like (``liked_text``), with the shared E5 embedder (``multilingual-e5-small``,
the one knowledge bases and the ``embeddings`` task use).

An item's text is its attributes from the training data: ``"Toy Story (Adventure, Animation,
Children)"`` for MovieLens' title and genres. Only the ``MAX_ITEMS`` most popular items are
candidates. A model trained with ``--param content_vectors=true`` (the demo model is) carries their
vectors; otherwise they are computed on the first request that needs them (tens of ms per item on 2
cores: a minute or more for 2,000 items) and kept in the embedding cache under
``<MODELBAY_HOME>/cache``, so a restart or another model with the same items does not embed them again.

>>> index = ContentIndex(recommender)                                   # doctest: +SKIP
>>> scores = index.scores("animated films for small children")         # doctest: +SKIP
"""

from __future__ import annotations

import threading
from typing import Any

from ...core.errors import BadInput

EMBEDDING_MODEL = "multilingual-e5-small"
BATCH_ITEMS = 256
#: items a content-based cold start chooses among: the most popular ones
MAX_ITEMS = 2000


def item_texts(attributes: dict[str, Any], n_items: int) -> list[str]:
    """One text per item: the first attribute, then the others in brackets (``|`` lists as commas)."""
    if not attributes:
        raise BadInput("liked_text needs item texts, and this model has no item attributes",
                       hint="train with title/genres/category columns in the interaction table")
    names = list(attributes)
    texts = []
    for i in range(n_items):
        values = [str(attributes[n][i]).replace("|", ", ").strip() for n in names]
        head, rest = values[0], [v for v in values[1:] if v]
        texts.append(f"{head} ({'; '.join(rest)})" if rest else head)
    return texts


class ContentIndex:
    """Item text vectors of one loaded model, embedded once (thread-safe) and cached on disk."""

    def __init__(self, attributes: dict[str, Any], popularity, *, max_items: int = MAX_ITEMS,
                 embedding_model: str = EMBEDDING_MODEL, stored: tuple[Any, Any, str] | None = None) -> None:
        import numpy as np

        self.attributes, self.embedding_model = attributes, embedding_model
        self.n_items = len(popularity)
        # the most popular items only: embedding costs ~10 ms an item, and a cold start is served from the head
        self.candidates = np.sort(np.argsort(-np.asarray(popularity, dtype=np.float64), kind="stable")[:max_items])
        self._vectors = None
        if stored is not None:  # vectors the trainer made: (item indices, vectors, embedding model)
            self.candidates, self.embedding_model = np.asarray(stored[0]), stored[2]
            self._vectors = np.asarray(stored[1], dtype=np.float32)
        self._lock = threading.Lock()

    def _embedder(self):
        from ...kb.embedder import get_embedder

        return get_embedder(self.embedding_model)

    def vectors(self):
        with self._lock:
            if self._vectors is None:
                self._vectors = self._embed_items()
            return self._vectors

    def _embed_items(self):
        import numpy as np

        from ...core.settings import get_settings
        from ...ml.embedding_cache import EmbeddingCache

        all_texts = item_texts(self.attributes, self.n_items)
        texts = [all_texts[i] for i in self.candidates]
        embedder = self._embedder()
        cache = EmbeddingCache(get_settings().cache_dir / "recommendation-items" / self.embedding_model)
        found = cache.get(texts)
        missing = [i for i in range(len(texts)) if i not in found]
        for lo in range(0, len(missing), BATCH_ITEMS):
            part = missing[lo:lo + BATCH_ITEMS]
            vectors = embedder.embed([texts[i] for i in part], is_query=False)
            found.update(zip(part, vectors))
            cache.put([texts[i] for i in part], vectors)
        return np.stack([np.asarray(found[i], dtype=np.float32) for i in range(len(texts))])

    def scores(self, text: str):
        """Cosine similarity of every item's text to ``text`` (E5 vectors are unit length)."""
        import numpy as np

        items = self.vectors()
        query = self._embedder().embed([text], is_query=True)[0]
        scores = np.full(self.n_items, -np.inf)
        scores[self.candidates] = np.einsum("ij,j->i", items, query.astype(items.dtype))
        return scores
