"""Labelled anomaly data that ships inside PyPI packages, fetched once with pip and checked by sha256.

* ``sktime_series("yahoo")`` / ``sktime_series("mitdb")`` — the two labelled anomaly series in the
  sktime 1.2.0 wheel (``sktime/datasets/data/yahoo/yahoo.csv``: 1,000 points, 7 labelled anomalous
  points; ``sktime/datasets/data/mitdb/mitdb.csv``: 7,500 ECG samples with one labelled anomalous
  window of 352 samples). Columns ``data`` and ``label`` (1 = anomaly).
* ``shuttle_frame()`` — river 0.26.1's ``Shuttle`` data (``river/datasets/shuttle.csv.gz``): the
  UCI Statlog Shuttle set as ODDS made it an outlier benchmark, 49,097 rows of 9 numeric sensor
  features, ``anomaly`` = 1 for 3,511 rows (7.2%).

Neither package is a dependency: ``pip download --no-deps`` fetches the wheel into
``<MODELBAY_HOME>/data`` (``modelbay.data.package_files``) and the file is read from the archive.
The river wheel is built per platform: its sha256 below is that of the CPython 3.11 manylinux x86-64
wheel.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from ...core.errors import BadInput
from ...data.package_files import fetched_package_file

SKTIME_WHEEL = ("sktime-1.2.0-py3-none-any.whl", "dbffc6731d2d683b668dceb5e2bbc5804bebc8446b4c580803a281684d90e4ae",
                "sktime==1.2.0")
RIVER_WHEEL = ("river-0.26.1-cp311-cp311-manylinux_2_28_x86_64.whl",
               "6a11e1a9749beec3ea138efeb0205b2c5cea8d424e9deee306c8980faec01bef", "river==0.26.1")
SKTIME_SERIES = {"yahoo": "sktime/datasets/data/yahoo/yahoo.csv", "mitdb": "sktime/datasets/data/mitdb/mitdb.csv"}


def _member(wheel: tuple[str, str, str], member: str, download: bool) -> bytes:
    filename, sha256, requirement = wheel
    path = fetched_package_file(filename, sha256, requirement, download=download, binary=True)
    with zipfile.ZipFile(path) as archive:
        return archive.read(member)


def sktime_series(name: str, *, download: bool = True) -> Any:
    """A pandas frame ``value, label`` (the file's ``data`` renamed), one row per time step."""
    import pandas as pd

    if name not in SKTIME_SERIES:
        raise BadInput(f"no sktime anomaly series {name!r}; known: {', '.join(SKTIME_SERIES)}")
    frame = pd.read_csv(io.BytesIO(_member(SKTIME_WHEEL, SKTIME_SERIES[name], download)))
    return frame.rename(columns={"data": "value"})[["value", "label"]]


def shuttle_frame(*, download: bool = True) -> Any:
    """River's ODDS Shuttle: features ``f1`` … ``f9`` and ``anomaly`` (1 = anomaly)."""
    import pandas as pd

    return pd.read_csv(io.BytesIO(_member(RIVER_WHEEL, "river/datasets/shuttle.csv.gz", download)), compression="gzip")

