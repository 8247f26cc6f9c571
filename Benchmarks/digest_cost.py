"""The cost of the kept state digest: HTTP upsert throughput of 100K dev vectors and the time
to reopen them, for this build and a baseline build (one made before the digest), run
alternately so both see the same machine. Prints one line per run.

Usage: python3 digest_cost.py HSDB_BINARY BASELINE_BINARY [--rounds 2]
(2026-12-04: the baseline was built from b9608a4.)
"""
import argparse
import shutil
import tempfile
import time

from bench_server import Server, call, upsert, vectors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("baseline")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    vecs = vectors(100_000)
    for _ in range(args.rounds):
        for label, binary in (("baseline", args.baseline), ("this build", args.binary)):
            d = tempfile.mkdtemp()
            s = Server(binary, d, "--memtable-mb", "64")
            call(f"{s.url}/collections/c", "PUT", {"vectors": {"size": len(vecs[0]), "distance": "Cosine"}})
            t = time.perf_counter()
            upsert(s.url, vecs)
            elapsed = time.perf_counter() - t
            s.wait_idle()
            s.stop()
            t = time.perf_counter()
            s = Server(binary, d, "--memtable-mb", "64")
            call(f"{s.url}/collections/c")
            reopen = time.perf_counter() - t
            s.stop()
            print(label, "upsert_points_per_s", round(len(vecs) / elapsed), "reopen_s", round(reopen, 3), flush=True)
            shutil.rmtree(d)


if __name__ == "__main__":
    main()
