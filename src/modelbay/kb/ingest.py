"""Adding files to a knowledge base: find, hash, read, chunk, embed, then store one document per transaction.

All files are read and chunked before anything is written, so an unreadable or unsupported
file named on the command line fails the whole ``add`` with nothing stored, and the progress
bars know the number of chunks to embed. A file whose content hash is already stored is
skipped; a changed one has its chunks replaced in the same transaction that writes the new ones.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import BadInput
from ..ml.progress import reporter
from .chunking import ChunkDraft, chunk_blocks
from .embedder import BATCH_TEXTS, Embedder
from .lexical import bm25_tokens
from .models import AddReport
from .readers import SUPPORTED_HINT, EmptyDocument, is_supported, read_document
from .store import KBStore

Progress = bool | Callable[[str, int, int], None] | None


@dataclass
class PreparedDocument:
    source: str
    kind: str
    sha256: str
    size_bytes: int
    replaces: bool
    chunks: list[ChunkDraft]


def indexed_text(chunk: ChunkDraft) -> str:
    """What BM25 and the embedding see: the heading path, then the chunk (headings carry the topic)."""
    return f"{chunk.section}\n{chunk.text}" if chunk.section else chunk.text


def collect_files(paths: Iterable[str | Path]) -> tuple[list[tuple[Path, bool]], list[str]]:
    """``[(file, named_explicitly)]`` in a stable order, and the folder members skipped as unsupported."""
    files: list[tuple[Path, bool]] = []
    skipped: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for member in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in member.relative_to(path).parts):
                    continue  # .git, .DS_Store and other hidden files
                if is_supported(member):
                    files.append((member.resolve(), False))
                else:
                    skipped.append(str(member.resolve()))
        elif path.is_file():
            files.append((path.resolve(), True))
        else:
            raise BadInput(f"no such file or folder: {path}", hint=SUPPORTED_HINT)
    unique = list({f: (f, named) for f, named in files}.values())
    return unique, skipped


def prepare(store: KBStore, files: list[tuple[Path, bool]], settings: dict, report: AddReport,
            tick: Callable[[int], None]) -> list[PreparedDocument]:
    """Read and chunk every new or changed file; fill ``report.unchanged`` / ``report.skipped``."""
    prepared = []
    for done, (path, named) in enumerate(files, start=1):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BadInput(f"{path}: cannot be read ({exc.strerror or exc})", hint=SUPPORTED_HINT) from None
        sha = hashlib.sha256(data).hexdigest()
        stored = store.document_by_source(str(path))
        if stored is not None and stored[3] == sha:
            report.unchanged.append(str(path))
        else:
            try:
                kind, blocks = read_document(path)
            except BadInput as exc:  # empty or unreadable: an error when named, skipped inside a folder
                if named:
                    raise
                reason = exc.message.removeprefix(f"{path}: ")
                report.skipped.append(str(path) if isinstance(exc, EmptyDocument) else f"{path} ({reason})")
                tick(done)
                continue
            chunks = chunk_blocks(blocks, max_chars=settings["chunk_max_chars"],
                                  overlap_chars=settings["chunk_overlap_chars"])
            prepared.append(PreparedDocument(str(path), kind, sha, len(data), stored is not None, chunks))
        tick(done)
    return prepared


def _embed(embedder: Embedder | None, texts: list[str], tick: Callable[[int], None], done: int) -> list[bytes | None]:
    if embedder is None:
        tick(done + len(texts))
        return [None] * len(texts)
    out: list[bytes | None] = []
    for start in range(0, len(texts), BATCH_TEXTS):
        vectors = embedder.embed(texts[start:start + BATCH_TEXTS], is_query=False)
        out.extend(row.tobytes() for row in vectors)
        tick(done + len(out))
    return out


def add_files(store: KBStore, paths: Iterable[str | Path], settings: dict,
              embedder_factory: Callable[[], Embedder | None], progress: Progress = None) -> AddReport:
    """The body of :meth:`KnowledgeBase.add`; see there."""
    started = time.perf_counter()
    report = AddReport()
    files, report.skipped = collect_files(paths)
    with reporter(progress) as rep:
        prepared = prepare(store, files, settings, report, rep.stage("files", len(files)))
        total = sum(len(doc.chunks) for doc in prepared)
        tick_chunks = rep.stage("chunks", total)
        embedder = embedder_factory() if prepared else None
        done = 0
        for doc in prepared:
            texts = [indexed_text(c) for c in doc.chunks]
            vectors = _embed(embedder, texts, tick_chunks, done)
            rows = [(c.position, c.section, c.page, c.text, " ".join(bm25_tokens(t)), v)
                    for c, t, v in zip(doc.chunks, texts, vectors)]
            with store.write() as conn:
                store.put_document(conn, {"source": doc.source, "kind": doc.kind, "sha256": doc.sha256,
                                          "size_bytes": doc.size_bytes}, rows)
            done += len(rows)
            (report.replaced if doc.replaces else report.added).append(doc.source)
        report.chunks_added = done
    report.seconds = round(time.perf_counter() - started, 3)
    return report
