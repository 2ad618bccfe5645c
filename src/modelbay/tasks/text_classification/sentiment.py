"""Sentiment (English and Chinese): text classification with a sentiment model as the default."""

from __future__ import annotations

from ...core.registry import register
from .task import TextClassification


@register
class Sentiment(TextClassification):
    name = "sentiment"
    aliases = ("sentiment-analysis",)
    description = "Positive or negative, for English and Chinese text"
    default_model = "sentiment-e5-mlp"
