"""Replication benchmarks: real `hsdb serve` processes (release) on loopback, each figure next
to its reference measured in the same run. Prints one JSON line per measurement.

  catch_up     a follower joining a leader whose WAL holds the whole data set, streaming it
               from LSN 0; against the leader's own WAL recovery (replay) of the same log
  loopback     raw loopback TCP throughput (Python sockets, 1 MiB writes), the link's ceiling
  apply_lag    steady ingest at a fixed rate; per write, the time from the leader's answer
               to the follower reporting it applied (polled every 2 ms: that is the resolution)
  bootstrap    a follower bootstrapping from the leader's snapshot (its Merkle DAG streamed,
               each block checked as it arrives, the files installed); against `cp -r` +
               `sync` of the leader's collection directory (after a `sync` of what the
               servers left)
  ingest       leader upsert throughput with 0 and with 1 follower streaming

Usage: python3 replication.py HSDB_BINARY [--points N] [--rate POINTS_PER_S] [--seconds S]
                              [--repeat K] [--only catch_up,apply_lag,ingest,bootstrap]
Vectors: the first N of ../shared/data/dev/base.f16 when present, else random. `--repeat K`
writes them K times under distinct ids for catch-up and bootstrap (K = 7 with 100,000 points
is about 1.1 GB of WAL).
"""
import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from bench_server import DIM, Server, call, emit, vectors
from bench_server import tree_bytes as dir_bytes
from bench_server import upsert as upsert_all


def applied(url):
    cols = call(f"{url}/replication")["result"]["collections"]
    return cols[0]["applied_lsn"] if cols and cols[0]["state"] in ("streaming", "catching_up") else -1


def wait_for(url, lsn, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if applied(url) >= lsn:
                return
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError(f"{url} did not reach LSN {lsn}")


def leader_lsn(url):
    return call(f"{url}/replication/collections")["result"]["collections"][0]["durable_lsn"]


def loopback_mb_s(total=512 << 20):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    got = [0]

    def sink():
        c, _ = server.accept()
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            got[0] += len(b)

    t = threading.Thread(target=sink)
    t.start()
    s = socket.create_connection(("127.0.0.1", port))
    chunk = b"x" * (1 << 20)
    start = time.perf_counter()
    for _ in range(total >> 20):
        s.sendall(chunk)
    s.close()
    t.join()
    return got[0] / (time.perf_counter() - start) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--points", type=int, default=50_000)
    ap.add_argument("--rate", type=int, default=5_000)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--only", default="catch_up,apply_lag,ingest,bootstrap")
    args = ap.parse_args()
    wanted = set(args.only.split(","))

    def fill(url):
        for k in range(args.repeat):
            upsert_all(url, vecs, start=k * len(vecs))
    vecs = vectors(args.points)
    work = tempfile.mkdtemp(prefix="hsdb-repl-bench-")
    try:
        emit(kind="machine", cores=os.cpu_count(), points=args.points, dim=DIM)
        emit(kind="loopback", mb_per_s=round(loopback_mb_s(), 1))
        if "catch_up" in wanted:
            catch_up_run(args, work, fill)
        if wanted & {"apply_lag", "ingest"}:
            lag_and_ingest(args, work, vecs)
        if "bootstrap" in wanted:
            bootstrap_run(args, work, fill)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def catch_up_run(args, work, fill):
    # Catch-up from LSN 0 against the leader's own recovery of the same WAL. A memtable
    # larger than the data: nothing is flushed, so the whole log is shipped and replayed.
    big = ["--memtable-mb", "8192", "--durability", "none", "--idle-flush-seconds", "0"]
    leader = Server(args.binary, f"{work}/L", *big)
    call(f"{leader.url}/collections/c", "PUT", {"vectors": {"size": DIM, "distance": "Cosine"}})
    fill(leader.url)
    lsn = leader_lsn(leader.url)
    wal = dir_bytes(f"{work}/L/collections/c/wal")
    subprocess.run(["sync"], check=True)  # the leader's WAL written back first: a quiet disk for both
    t0 = time.perf_counter()
    follower = Server(args.binary, f"{work}/F", *big, "--replica-of", leader.url)
    wait_for(follower.url, lsn)
    catch_up = time.perf_counter() - t0
    follower.stop()
    leader.stop()
    leader = Server(args.binary, f"{work}/L", *big)
    replay = float(re.search(r"replayed \d+ WAL records .* in ([0-9.]+) s", open(leader.log_path).read()).group(1))
    emit(kind="catch_up", wal_mb=round(wal / 1e6, 1), seconds=round(catch_up, 2), mb_per_s=round(wal / 1e6 / catch_up, 1),
         recovery_seconds=replay, recovery_mb_per_s=round(wal / 1e6 / max(replay, 1e-6), 1),
         ratio=round(replay / catch_up, 2))
    leader.stop()
    shutil.rmtree(f"{work}/L"), shutil.rmtree(f"{work}/F")


def lag_and_ingest(args, work, vecs):
    # Apply lag under steady ingest (fsync on both sides).
    leader = Server(args.binary, f"{work}/L")
    call(f"{leader.url}/collections/c", "PUT", {"vectors": {"size": DIM, "distance": "Cosine"}})
    follower = Server(args.binary, f"{work}/F", "--replica-of", leader.url)
    wait_for(follower.url, 0)
    samples = []  # (time the leader answered, lsn)
    seen = []  # (time polled, applied lsn)
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            try:
                seen.append((time.perf_counter(), applied(follower.url)))
            except OSError:
                pass
            time.sleep(0.002)

    poller = threading.Thread(target=poll)
    poller.start()
    # Writers in parallel (one client waiting on each fsync'd answer tops out near 2,500
    # points/s here), each at its share of the rate.
    batch, writers = 50, 4
    interval = batch * writers / args.rate
    lock = threading.Lock()
    counts = [0] * writers

    def write(w):
        next_at = time.perf_counter()
        end = next_at + args.seconds
        i = w * batch
        while time.perf_counter() < end:
            pts = [{"id": (i + j) % args.points, "vector": vecs[(i + j) % args.points]} for j in range(batch)]
            r = call(f"{leader.url}/collections/c/points?wait=true", "PUT", {"points": pts})
            with lock:
                samples.append((time.perf_counter(), r["result"]["operation_id"]))
            counts[w] += batch
            i += batch * writers
            next_at += interval
            time.sleep(max(0, next_at - time.perf_counter()))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    samples.sort(key=lambda s: s[1])
    i = sum(counts)
    wait_for(follower.url, samples[-1][1])
    stop.set()
    poller.join()
    lags, k = [], 0
    for t, lsn in samples:
        while k < len(seen) and seen[k][1] < lsn:
            k += 1
        if k < len(seen):
            lags.append(max(0.0, seen[k][0] - t) * 1000)
    lags.sort()
    achieved = i / args.seconds
    emit(kind="apply_lag", target_points_per_s=args.rate, achieved_points_per_s=round(achieved),
         p50_ms=round(statistics.median(lags), 2), p99_ms=round(lags[int(len(lags) * 0.99) - 1], 2), writes=len(lags))

    # Leader ingest with 1 follower (this one) and, after it stops, with none.
    def ingest_rate(seconds=8):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            pts = [{"id": (n + j) % args.points, "vector": vecs[(n + j) % args.points]} for j in range(200)]
            call(f"{leader.url}/collections/c/points?wait=true", "PUT", {"points": pts})
            n += 200
        return n / (time.perf_counter() - t0)

    with_one = ingest_rate()
    follower.stop()
    with_none = ingest_rate()
    emit(kind="ingest", points_per_s_no_follower=round(with_none), points_per_s_one_follower=round(with_one),
         ratio=round(with_one / with_none, 2))
    leader.stop()
    shutil.rmtree(f"{work}/L"), shutil.rmtree(f"{work}/F")


def bootstrap_run(args, work, fill):
    # Bootstrap from a snapshot against cp of the collection directory.
    leader = Server(args.binary, f"{work}/L", "--memtable-mb", "16")
    call(f"{leader.url}/collections/c", "PUT", {"vectors": {"size": DIM, "distance": "Cosine"}})
    fill(leader.url)
    leader.stop()  # restarted with no follower: only a snapshot is offered
    leader = Server(args.binary, f"{work}/L", "--memtable-mb", "16")
    lsn = leader_lsn(leader.url)
    t0 = time.perf_counter()
    follower = Server(args.binary, f"{work}/F", "--replica-of", leader.url)
    wait_for(follower.url, lsn)
    boot = time.perf_counter() - t0
    status = call(f"{follower.url}/replication")["result"]["collections"][0]
    # The files the leader offered (metadata, manifest, segments), as its log reports them.
    offers = re.findall(r"snapshot \S+ of 'c' at LSN \d+ \((\d+) bytes in \d+ files\)", open(leader.log_path).read())
    snap = int(offers[-1])
    follower.stop()
    leader.stop()
    shutil.rmtree(f"{work}/cp", ignore_errors=True)
    subprocess.run(["sync"], check=True)  # what the servers left dirty is not cp's to write
    t0 = time.perf_counter()
    subprocess.run(["cp", "-r", f"{work}/L/collections/c", f"{work}/cp"], check=True)
    subprocess.run(["sync"], check=True)
    cp = time.perf_counter() - t0
    emit(kind="bootstrap", bootstraps=status["bootstraps"], snapshot_mb=round(snap / 1e6, 1), seconds=round(boot, 2),
         mb_per_s=round(snap / 1e6 / boot, 1), cp_seconds=round(cp, 2), cp_mb_per_s=round(snap / 1e6 / cp, 1),
         ratio=round(cp / boot, 2))
    shutil.rmtree(f"{work}/L"), shutil.rmtree(f"{work}/F"), shutil.rmtree(f"{work}/cp")


if __name__ == "__main__":
    sys.exit(main())
