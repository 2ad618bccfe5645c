"""A disk cache of sentence embeddings, keyed by (embedder, kind, text), so re-training does not re-embed."""

from __future__ import annotations

import hashlib
import os
import uuid
import zipfile
from pathlib import Path


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Append-only shards ``<dir>/shard-*.npz`` holding ``keys`` (sha1 hex) and ``vectors``.

    >>> cache = EmbeddingCache("/tmp/emb-cache")    # doctest: +SKIP
    >>> cache.get(["hello"])                        # doctest: +SKIP
    {}
    """

    def __init__(self, directory: str | Path) -> None:
        import numpy as np

        self.dir = Path(directory)
        self._vectors: dict[str, np.ndarray] = {}
        for shard in sorted(self.dir.glob("shard-*.npz")):
            try:
                data = np.load(shard)
                self._vectors.update(zip(data["keys"].tolist(), data["vectors"]))
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                continue  # a torn shard from a killed run is skipped (its texts get embedded again), not fatal

    def get(self, texts: list[str]) -> dict[int, object]:
        """Index in ``texts`` -> cached vector, for the texts that are cached."""
        out = {}
        for i, t in enumerate(texts):
            v = self._vectors.get(text_key(t))
            if v is not None:
                out[i] = v
        return out

    def put(self, texts: list[str], vectors) -> None:
        import numpy as np

        if not texts:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        keys = np.array([text_key(t) for t in texts])
        tmp = self.dir / f".tmp-{uuid.uuid4().hex}.npz"
        np.savez(tmp, keys=keys, vectors=np.asarray(vectors, dtype=np.float32))
        os.replace(tmp, self.dir / f"shard-{uuid.uuid4().hex}.npz")
        self._vectors.update(zip(keys.tolist(), np.asarray(vectors, dtype=np.float32)))
