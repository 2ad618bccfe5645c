"""Which dense index for a knowledge base: numpy exact search vs sqlite-vec vs hnswlib vs faiss.

    .venv/bin/python bench/kb_vector_index.py [--sizes 10000 100000] [--queries 200]

For each size, n random unit vectors of 384 dims (multilingual-e5-small's width; exact search
costs the same whatever the vectors hold) are indexed by every engine that is installed, and the
script prints build seconds, mean query milliseconds (top 10, one query at a time, as a server
searches) and bytes on disk, plus recall@10 against numpy's exact answer for the approximate ones.
numpy "build" is reading the float32 blobs out of SQLite into one matrix, which is what
``kb/search.py`` does. Engines missing here are reported as such.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time

import numpy as np

DIM = 384
TOP = 10


def _unit(rng, n):
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _numpy(vectors, queries, folder):
    path = os.path.join(folder, "np.sqlite")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, v BLOB)")
    conn.executemany("INSERT INTO c(v) VALUES (?)", ((v.tobytes(),) for v in vectors))
    conn.commit()
    t = time.perf_counter()
    blobs = [r[0] for r in conn.execute("SELECT v FROM c ORDER BY id")]
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), DIM)
    build = time.perf_counter() - t
    t = time.perf_counter()
    found = []
    for q in queries:
        s = matrix @ q
        part = np.argpartition(-s, TOP)[:TOP]
        found.append(part[np.argsort(-s[part])])
    return build, (time.perf_counter() - t) / len(queries), os.path.getsize(path), found


def _sqlite_vec(vectors, queries, folder):
    import sqlite_vec

    path = os.path.join(folder, "vec.sqlite")
    conn = sqlite3.connect(path)
    if not hasattr(conn, "enable_load_extension"):
        raise ImportError("this Python's sqlite3 cannot load extensions", name="sqlite3 extension loading")
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    t = time.perf_counter()
    conn.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{DIM}] distance_metric=cosine)")
    conn.executemany("INSERT INTO v(rowid, embedding) VALUES (?, ?)", ((i + 1, v.tobytes()) for i, v in enumerate(vectors)))
    conn.commit()
    build = time.perf_counter() - t
    t = time.perf_counter()
    found = []
    for q in queries:
        rows = conn.execute("SELECT rowid FROM v WHERE embedding MATCH ? AND k = ? ORDER BY distance",
                            (q.tobytes(), TOP)).fetchall()
        found.append(np.array([r[0] - 1 for r in rows]))
    return build, (time.perf_counter() - t) / len(queries), os.path.getsize(path), found


def _hnswlib(vectors, queries, folder):
    import hnswlib

    t = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(max_elements=len(vectors), ef_construction=200, M=16)
    index.add_items(vectors, np.arange(len(vectors)))
    index.set_ef(100)
    build = time.perf_counter() - t
    path = os.path.join(folder, "hnsw.bin")
    index.save_index(path)
    t = time.perf_counter()
    found = [index.knn_query(q, k=TOP)[0][0] for q in queries]
    return build, (time.perf_counter() - t) / len(queries), os.path.getsize(path), found


def _faiss_flat(vectors, queries, folder):
    import faiss

    t = time.perf_counter()
    index = faiss.IndexFlatIP(DIM)
    index.add(vectors)
    build = time.perf_counter() - t
    path = os.path.join(folder, "faiss.index")
    faiss.write_index(index, path)
    t = time.perf_counter()
    found = [index.search(q[None, :], TOP)[1][0] for q in queries]
    return build, (time.perf_counter() - t) / len(queries), os.path.getsize(path), found


ENGINES = {"numpy exact (chosen)": _numpy, "sqlite-vec 0.1.9 vec0": _sqlite_vec, "hnswlib HNSW": _hnswlib,
           "faiss IndexFlatIP": _faiss_flat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'engine':24} {'chunks':>7} {'build s':>8} {'query ms':>9} {'disk MiB':>9} {'recall@10':>9}")
    for n in args.sizes:
        vectors, queries = _unit(rng, n), _unit(rng, args.queries)
        exact = None
        for name, engine in ENGINES.items():
            with tempfile.TemporaryDirectory() as folder:
                try:
                    build, query_s, size, found = engine(vectors, queries, folder)
                except ImportError as exc:
                    print(f"{name:24} {n:>7} unavailable: {exc}")
                    continue
            exact = exact if exact is not None else found
            recall = np.mean([len(set(map(int, f)) & set(map(int, e))) / TOP for f, e in zip(found, exact)])
            print(f"{name:24} {n:>7} {build:>8.2f} {query_s * 1000:>9.2f} {size / 2**20:>9.1f} {recall:>9.3f}")


if __name__ == "__main__":
    main()
