"""Scroll through a release `hsdb serve` right after an upload, while most points are still in
memtables: the dev set's first N points (384-dim, cosine) upserted in 500-point batches,
then (1) every point paged through with limit 100, payloads only, and (2) 500 pages of 10
from random offsets. One JSON line per measurement.

    python3 Benchmarks/scroll.py [--binary PATH] [--points N]
"""
import argparse
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_server import Server, call, emit, upsert, vectors  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/hsdb")
    ap.add_argument("--points", type=int, default=50_000)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="hsdb-scroll-")
    server = Server(args.binary, data)
    try:
        url = server.url
        call(f"{url}/collections/c", "PUT", {"vectors": {"size": 384, "distance": "Cosine"}})
        upsert(url, vectors(args.points))
        info = call(f"{url}/collections/c")["result"]
        start, offset, pages, seen = time.perf_counter(), None, 0, 0
        while True:
            body = {"limit": 100, "with_payload": True, "with_vector": False}
            if offset is not None:
                body["offset"] = offset
            r = call(f"{url}/collections/c/points/scroll", "POST", body)["result"]
            pages, seen, offset = pages + 1, seen + len(r["points"]), r["next_page_offset"]
            if offset is None:
                break
        elapsed = time.perf_counter() - start
        emit(bench="scroll-all", points=seen, pages=pages, seconds=round(elapsed, 3),
             pages_per_s=round(pages / elapsed, 1), segments=info.get("segments_count"))
        rng = random.Random(1)
        start = time.perf_counter()
        for _ in range(500):
            call(f"{url}/collections/c/points/scroll", "POST", {"limit": 10, "offset": rng.randrange(args.points)})
        elapsed = time.perf_counter() - start
        emit(bench="scroll-random-10", pages=500, ms_per_page=round(elapsed / 500 * 1000, 3))
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
