"""Training: fit models on labelled data and save them as versioned artifacts with a model card."""

from .embedding_head import HeadConfig, embed_texts, train_embedding_head

__all__ = ["HeadConfig", "embed_texts", "train_embedding_head"]
