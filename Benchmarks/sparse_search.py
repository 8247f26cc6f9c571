"""Sparse and hybrid search over HTTP on real text: the 100K chunks of ../shared/data/dev as
BM25 term weights (words hashed to 2^20 indices, k1 1.2, b 0.75; IDF by the server's `idf`
modifier) beside their 384-dim embeddings, loaded through a release `hsdb serve` and
searched as the engine leaves them. Reports sparse-only and hybrid (dense + sparse prefetch,
RRF) QPS and latency with one client beside the dense-only query, checks the sparse answers
against an exact scorer over the same matrix written here with numpy (also timed), and times
bm25s (PyPI: `pip install bm25s scipy`) on the same texts, in-process, as the fast peer, and
the embedded engine on the same sparse vectors (`hsdb bench sparse`, in-process like bm25s,
IDF by the engine, every answer checked against its exact scorer).

    python3 Benchmarks/sparse_search.py [--points N] [--queries Q] [--binary PATH]
"""
import argparse
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_server import Server, call, emit, vectors  # noqa: E402

DEV = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "dev")
SPACE = 1 << 20
WORD = re.compile(r"[a-z0-9]+")


def terms(text):
    counts = {}
    for w in WORD.findall(text.lower()):
        i = zlib.crc32(w.encode()) % SPACE
        counts[i] = counts.get(i, 0) + 1
    return counts


def bm25_documents(texts, k1=1.2, b=0.75):
    docs = [terms(t) for t in texts]
    avg = sum(sum(d.values()) for d in docs) / len(docs)
    out = []
    for d in docs:
        length = sum(d.values())
        idx = sorted(d)
        out.append((idx, [round(d[i] * (k1 + 1) / (d[i] + k1 * (1 - b + b * length / avg)), 4) for i in idx]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "hsdb"))
    a = ap.parse_args()
    with gzip.open(os.path.join(DEV, "base.txt.gz"), "rt") as f:
        texts = [next(f).rstrip("\n") for _ in range(a.points)]
    with gzip.open(os.path.join(DEV, "query.txt.gz"), "rt") as f:
        queries = [line.rstrip("\n") for line in f][: a.queries]
    docs = bm25_documents(texts)
    qterms = [sorted(terms(q)) for q in queries]
    dense = vectors(a.points)
    qdense = np.fromfile(os.path.join(DEV, "query.f16"), dtype=np.float16).reshape(-1, 384).astype(np.float32)[: a.queries].tolist()

    tmp = tempfile.mkdtemp(prefix="hsdb-sparse-")
    s = Server(a.binary, os.path.join(tmp, "data"))
    try:
        call(f"{s.url}/collections/c", "PUT", {"vectors": {"size": 384, "distance": "Cosine"},
                                               "sparse_vectors": {"bm25": {"modifier": "idf"}}})
        started = time.perf_counter()
        for i in range(0, a.points, 500):
            pts = [{"id": j, "vector": {"": dense[j], "bm25": {"indices": docs[j][0], "values": docs[j][1]}}}
                   for j in range(i, min(i + 500, a.points))]
            call(f"{s.url}/collections/c/points?wait=true", "PUT", {"points": pts})
        load = time.perf_counter() - started
        s.wait_idle()
        info = call(f"{s.url}/collections/c")["result"]
        emit(kind="load", points=a.points, seconds=round(load, 1), segments=info["segments_count"],
             entries=sum(len(d[0]) for d in docs), anon_rss_mib=round(s.anon_rss_kib() / 1024))

        # The exact reference: a CSR matrix, IDF weights, dot products for every point.
        indptr = np.cumsum([0] + [len(d[0]) for d in docs])
        indices = np.concatenate([np.array(d[0], dtype=np.int64) for d in docs])
        values = np.concatenate([np.array(d[1], dtype=np.float32) for d in docs])
        rows = np.repeat(np.arange(a.points), np.diff(indptr))
        df = np.bincount(indices, minlength=SPACE)
        order = np.argsort(indices, kind="stable")
        starts = np.searchsorted(indices[order], np.arange(SPACE + 1))

        def exact(q):
            w = {t: math.log(1 + (a.points - df[t] + 0.5) / (df[t] + 0.5)) for t in q}
            scores = {}
            for t, wt in w.items():
                sel = order[starts[t]:starts[t + 1]]
                for r, v in zip(rows[sel].tolist(), values[sel].tolist()):
                    scores[r] = scores.get(r, 0.0) + wt * v
            return sorted(scores.items(), key=lambda kv: -kv[1])[:10]

        mismatched = 0
        for q in qterms[:100]:
            got = call(f"{s.url}/collections/c/points/query", "POST",
                       {"query": {"indices": q, "values": [1.0] * len(q)}, "using": "bm25", "limit": 10})["result"]["points"]
            want = exact(q)
            if [round(p["score"], 3) for p in got] != [round(x[1], 3) for x in want]:
                mismatched += 1
        emit(kind="sparse-exactness", queries=100, mismatched=mismatched)

        t0 = time.perf_counter()
        for q in qterms:
            exact(q)
        ref = time.perf_counter() - t0
        emit(kind="reference", engine="numpy postings (exact, in-process, no HTTP)", qps=round(len(qterms) / ref, 1))

        # The embedded engine, in-process like bm25s: the same sparse vectors and queries.
        with open(os.path.join(tmp, "docs.jsonl"), "w") as f:
            for idx, vals in docs:
                f.write(json.dumps({"indices": idx, "values": vals}) + "\n")
        with open(os.path.join(tmp, "queries.jsonl"), "w") as f:
            for q in qterms:
                f.write(json.dumps({"indices": q, "values": [1.0] * len(q)}) + "\n")
        for layout in ("engine", "flushed"):
            out = subprocess.run([a.binary, "bench", "sparse", "--docs", os.path.join(tmp, "docs.jsonl"),
                                  "--queries", os.path.join(tmp, "queries.jsonl"), "--dense", os.path.join(DEV, "base.f16"),
                                  "--dim", "384", "--layout", layout, "--work", tmp, "--json",
                                  "--query-dense", os.path.join(DEV, "query.f16")],
                                 capture_output=True, text=True, check=True).stdout.strip().splitlines()
            for line in out:
                print(line, flush=True)

        try:  # bm25s (PyPI), the fast BM25 library, on the same texts, in-process
            import bm25s
            retriever = bm25s.BM25(k1=1.2, b=0.75)
            t0 = time.perf_counter()
            retriever.index(bm25s.tokenize(texts, stopwords=None, show_progress=False), show_progress=False)
            built = time.perf_counter() - t0
            t0 = time.perf_counter()
            for q in queries:
                retriever.retrieve(bm25s.tokenize([q], stopwords=None, show_progress=False), k=10, show_progress=False)
            one = time.perf_counter() - t0
            t0 = time.perf_counter()
            retriever.retrieve(bm25s.tokenize(queries, stopwords=None, show_progress=False), k=10, show_progress=False)
            batched = time.perf_counter() - t0
            emit(kind="reference", engine=f"bm25s {bm25s.__version__} (in-process, no HTTP)", index_seconds=round(built, 1),
                 qps_one_at_a_time=round(len(queries) / one, 1), qps_batched=round(len(queries) / batched, 1))
        except ImportError:
            emit(kind="reference", engine="bm25s", skipped="not installed (pip install bm25s scipy)")

        for mode in ("dense", "sparse", "hybrid"):
            lat = []
            for q, v in zip(qterms, qdense):
                body = {"query": {"indices": q, "values": [1.0] * len(q)}, "using": "bm25", "limit": 10}
                if mode == "dense":
                    body = {"query": v, "limit": 10}
                if mode == "hybrid":
                    body = {"prefetch": [{"query": v, "limit": 20}, dict(body, limit=20)], "query": {"fusion": "rrf"}, "limit": 10}
                t = time.perf_counter()
                call(f"{s.url}/collections/c/points/query", "POST", body)
                lat.append(time.perf_counter() - t)
            lat.sort()
            emit(kind=mode, queries=len(lat), qps=round(len(lat) / sum(lat), 1),
                 p50_ms=round(lat[len(lat) // 2] * 1000, 2), p99_ms=round(lat[int(len(lat) * 0.99)] * 1000, 2))
    finally:
        s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
