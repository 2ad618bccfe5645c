"""Linking mentions to an entity table: exact aliases, fuzzy string scores (RapidFuzz) and embeddings.

For each mention the candidates are the entities whose names score best by RapidFuzz's
``token_sort_ratio`` (on NFKC, case-folded names; not ``WRatio``, whose partial matching links
"Tim Cook" to "Cook Islands") and, with an embedder, those whose passage embedding is nearest to
the mention's (the mention with a little context, embedded as an e5 "query"). The embedding
score is the softmax of the cosines over the whole table (``temperature``): e5's cosines sit in a
narrow band (0.75-0.9), so their absolute value says little and their margin over the other
entities says much. A candidate's score is ``1 - (1 - string) * (1 - embedding)`` (either strong
signal suffices, two weak ones add up); without an embedder it is the string score alone. The
best candidate wins unless it scores below the NIL threshold: then the mention links to nothing.

>>> from .table import EntityRecord, LinkerConfig, EntityModel
>>> table = EntityModel([EntityRecord("Q90", "Paris", ("巴黎",)), EntityRecord("Q64", "Berlin")], LinkerConfig(embedder=None))
>>> Linker(table).link("我在巴黎", [(2, 4)])[0]["entity_id"]
'Q90'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .table import EntityModel, normalise

#: encode(texts) -> (n, dim) array of unit vectors, e5 "query" side
Encoder = Callable[[list[str]], Any]


def _alias_pattern(alias: str) -> str:
    """A regex for one alias: word boundaries only on the sides that are Latin letters or digits."""
    left = r"(?<![0-9A-Za-z])" if alias[0].isascii() and alias[0].isalnum() else ""
    right = r"(?![0-9A-Za-z])" if alias[-1].isascii() and alias[-1].isalnum() else ""
    return left + re.escape(alias) + right


class Linker:
    def __init__(self, model: EntityModel, encode: Encoder | None = None) -> None:
        import numpy as np

        self.model, self.config, self.encode = model, model.config, encode
        self.alias_entity: list[int] = []
        self.alias_norms: list[str] = []
        self.exact: dict[str, list[int]] = {}
        for i, entity in enumerate(model.entities):
            for name in entity.names:
                key = normalise(name)
                self.alias_entity.append(i)
                self.alias_norms.append(key)
                if i not in self.exact.setdefault(key, []):
                    self.exact[key].append(i)
        self.vectors = None
        if model.vectors is not None and encode is not None:
            norms = np.linalg.norm(model.vectors, axis=1, keepdims=True)
            self.vectors = model.vectors / np.maximum(norms, 1e-12)
        self._finder: re.Pattern | None = None

    def find_mentions(self, text: str) -> list[tuple[int, int]]:
        """Spans of the text that are a name or alias of the table (longest first, not overlapping, any case)."""
        if self._finder is None:
            names = sorted({n for e in self.model.entities for n in e.names if n.strip()}, key=len, reverse=True)
            self._finder = re.compile("|".join(_alias_pattern(n) for n in names), re.IGNORECASE)
        return [(m.start(), m.end()) for m in self._finder.finditer(text) if m.end() > m.start()]

    def _string_scores(self, mention: str) -> dict[int, float]:
        from rapidfuzz import fuzz, process

        best: dict[int, float] = {}
        hits = process.extract(normalise(mention), self.alias_norms, scorer=fuzz.token_sort_ratio,
                               limit=self.config.candidates * 3)
        for _alias, score, index in hits:
            entity = self.alias_entity[index]
            best[entity] = max(best.get(entity, 0.0), score / 100)
        return dict(sorted(best.items(), key=lambda kv: -kv[1])[: self.config.candidates])

    def _string_score(self, mention: str, entity: int) -> float:
        from rapidfuzz import fuzz

        key = normalise(mention)
        return max(fuzz.token_sort_ratio(key, normalise(n)) for n in self.model.entities[entity].names) / 100

    def _embedding_scores(self, queries: list[str]) -> list[dict[int, float]]:
        import numpy as np

        if self.vectors is None or not queries:
            return [{} for _ in queries]
        q = np.asarray(self.encode(queries), dtype=np.float32)
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        logits = (q @ self.vectors.T) / self.config.temperature
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        out = []
        for row in probabilities:
            top = np.argsort(-row)[: self.config.candidates]
            out.append({int(i): float(row[i]) for i in top})
        return out

    def _query(self, text: str, start: int, end: int) -> str:
        width = self.config.context_chars
        context = text[max(0, start - width): end + width].strip()
        mention = text[start:end]
        return mention if context == mention else f"{mention}: {context}"

    def link(self, text: str, spans: list[tuple[int, int]], *, threshold: float | None = None,
             top_k: int = 3) -> list[dict[str, Any]]:
        """One result per span: the best entity (or NIL) with its score and the top ``top_k`` candidates."""
        threshold = self.config.nil_threshold if threshold is None else threshold
        semantic = self._embedding_scores([self._query(text, s, e) for s, e in spans])
        return [self._link_one(text[s:e], s, e, sem, threshold, top_k) for (s, e), sem in zip(spans, semantic)]

    def _link_one(self, mention: str, start: int, end: int, semantic: dict[int, float], threshold: float,
                  top_k: int) -> dict[str, Any]:
        string = self._string_scores(mention)
        for entity in self.exact.get(normalise(mention), []):
            string[entity] = 1.0
        scores: dict[int, float] = {}
        for entity in {*string, *semantic}:
            s = string[entity] if entity in string else self._string_score(mention, entity)
            scores[entity] = round(1 - (1 - s) * (1 - semantic.get(entity, 0.0)), 4)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        candidates = [self._entity(i, score) for i, score in ranked[:top_k]]
        best = candidates[0] if candidates and candidates[0]["score"] >= threshold else None
        return {"text": mention, "start": start, "end": end, "entity_id": best["id"] if best else None,
                "name": best["name"] if best else None, "type": (best["type"] or None) if best else None,
                "score": candidates[0]["score"] if candidates else 0.0, "candidates": candidates}

    def _entity(self, index: int, score: float) -> dict[str, Any]:
        entity = self.model.entities[index]
        return {"id": entity.id, "name": entity.name, "type": entity.type, "score": score}
