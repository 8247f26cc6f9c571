"""Where a bootstrap's time goes: a leader with N dev vectors (written K times), restarted so
that only a snapshot is offered, a follower started after IDLE seconds; prints the offer's
preparation, a plain download of the DAG (the link's ceiling), the follower's progress, and
the phases both logs report (the leader's `hashed in`, the follower's `received in ...,
installed in ...`). One run; the figures in RESULTS.md "bootstrap as a Merkle DAG" that are
"inside the follower" come from it.

Usage (from Benchmarks/): python3 bootstrap_phases.py HSDB_BINARY [N=50000] [K=1] [--idle S]
"""
import argparse
import re
import shutil
import subprocess
import tempfile
import time

from bench_server import DIM, Server, call, upsert, vectors

FOLLOWER_ID = "7d1a3c2e-0000-4000-8000-000000000001"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("points", type=int, nargs="?", default=50_000)
    ap.add_argument("repeat", type=int, nargs="?", default=1)
    ap.add_argument("--idle", type=float, default=3.0, help="seconds for the leader's merges to settle")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bootstrap-phases-")
    try:
        leader = Server(args.binary, f"{work}/L", "--memtable-mb", "16")
        call(f"{leader.url}/collections/c", "PUT", {"vectors": {"size": DIM, "distance": "Cosine"}})
        vecs = vectors(args.points)
        for k in range(args.repeat):
            upsert(leader.url, vecs, start=k * args.points)
        leader.stop()
        leader = Server(args.binary, f"{work}/L", "--memtable-mb", "16")
        t = time.perf_counter()
        offer = call(f"{leader.url}/replication/collections/c/snapshot?follower={FOLLOWER_ID}", "POST")["result"]
        print("prepare", round(time.perf_counter() - t, 3), "s,", offer["bytes"], "bytes,", offer["blocks"], "blocks")
        t = time.perf_counter()
        got = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}",
                              f"{leader.url}/replication/dags/{offer['name']}"], capture_output=True, text=True).stdout
        print("plain download of the DAG", round(time.perf_counter() - t, 3), "s,", got, "bytes")
        time.sleep(args.idle)
        t = time.perf_counter()
        follower = Server(args.binary, f"{work}/F", "--replica-of", leader.url)
        last = None
        while True:
            st = call(f"{follower.url}/replication")["result"]["collections"]
            key = (st[0]["state"], st[0]["snapshot_bytes_fetched"] >> 24) if st else None
            if key != last:
                print(round(time.perf_counter() - t, 3), "s:", key, "(state, MiB/16 fetched)")
                last = key
            if st and st[0]["state"] == "streaming":
                break
            time.sleep(0.002)
        print("follower bootstrap, its start included", round(time.perf_counter() - t, 3), "s")
        follower.stop()
        leader.stop()
        print(re.findall(r"hashed in [^)]*", open(leader.log_path).read()),
              re.findall(r"received in [^)]*", open(follower.log_path).read()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
