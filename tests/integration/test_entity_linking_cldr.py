"""Linking accuracy on third-party names: CLDR's country names in other languages (Babel), linked to the
English + Chinese CLDR table. Print the numbers with ``pytest -s``; the full run is in the report
(1,584 names in de/fr/es/ja/ko/ru + 161 English language names that must be NIL)."""

import pytest

from modelbay.tasks.entity_linking.cldr import cldr_territories, territory_names
from modelbay.tasks.entity_linking.linker import Linker
from modelbay.tasks.entity_linking.table import EntityModel, LinkerConfig

pytestmark = pytest.mark.slow


def _accuracy(linker, mentions):
    hits = [linker.link(name, [(0, len(name))])[0]["entity_id"] == gold for name, gold in mentions]
    return sum(hits) / len(hits)


def test_embeddings_link_country_names_across_scripts_where_string_matching_cannot():
    from modelbay.tasks.entity_linking.train import _encoder, embed_passages

    entities = cldr_territories()
    ids = {e.id for e in entities}
    # every 4th country name in Japanese and German: 2 x ~64 names, third-party (CLDR) spellings
    mentions = {loc: [(n, c) for c, n in sorted(territory_names(loc).items()) if c in ids and c.isalpha()][::4]
                for loc in ("ja", "de")}
    fuzzy = Linker(EntityModel(entities, LinkerConfig(embedder=None)))
    config = LinkerConfig()
    embedded = Linker(EntityModel(entities, config, embed_passages(entities, config.embedder)),
                      _encoder(config.embedder, "cpu"))
    scores = {loc: (_accuracy(fuzzy, m), _accuracy(embedded, m)) for loc, m in mentions.items()}
    print(scores)
    assert scores["ja"][0] < 0.1 and scores["ja"][1] > 0.5   # katakana/kanji names: strings fail, embeddings link
    assert scores["de"][1] >= scores["de"][0] and scores["de"][1] > 0.9


def full_evaluation(thresholds=(0.6, 0.7)) -> None:
    """The report's numbers: every country name of six locales, plus English language names that must be NIL."""
    from babel import Locale

    from modelbay.tasks.entity_linking.table import normalise
    from modelbay.tasks.entity_linking.train import _encoder, embed_passages

    entities = cldr_territories()
    ids, known = {e.id for e in entities}, {normalise(n) for e in entities for n in e.names}
    mentions = [(loc, n, c) for loc in ("de", "fr", "es", "ja", "ko", "ru")
                for c, n in sorted(territory_names(loc).items()) if c in ids and c.isalpha()]
    languages = sorted(n for c, n in Locale("en").languages.items() if "_" not in c and normalise(n) not in known)
    mentions += [("en-language-names(NIL)", n, None) for n in languages[::4]]
    vectors = embed_passages(entities, "multilingual-e5-small")
    for embedder in (None, "multilingual-e5-small"):
        for threshold in thresholds:
            config = LinkerConfig(embedder=embedder, nil_threshold=threshold)
            linker = Linker(EntityModel(entities, config, vectors if embedder else None),
                            _encoder(embedder, "cpu") if embedder else None)
            by_set: dict[str, list[bool]] = {}
            for where, name, gold in mentions:
                by_set.setdefault(where, []).append(linker.link(name, [(0, len(name))])[0]["entity_id"] == gold)
            hits = [h for v in by_set.values() for h in v]
            print(f"embedder={embedder} nil_threshold={threshold}: accuracy {sum(hits) / len(hits):.3f} "
                  f"(n={len(hits)}); " + ", ".join(f"{k} {sum(v) / len(v):.3f}" for k, v in by_set.items()))


if __name__ == "__main__":  # .venv/bin/python tests/integration/test_entity_linking_cldr.py
    full_evaluation()
