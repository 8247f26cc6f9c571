"""Shards across nodes, measured with real processes (DESIGN.md, "Shards across nodes").

  a real etcd, three `hsdb serve --etcd` nodes and one standalone `hsdb serve`, all on this
  machine. The dev set goes into one collection on the standalone node and into a collection
  of --shards shards (--replication copies) on the cluster, through one node.

  equality   exact search (top 10) of the first 100 queries: the same ids on both, and
             count equal; approximate search: recall@10 against the exact ground truth.
  latency    one client, the dev queries in turn (search, limit 10, default HNSW), p50 and
             p99 on each; the sharded collection asked through a node (fan-out and merge).
  move       8-point upserts with wait through one node (--ingest-clients of them); shard 0
             is moved to a node not holding it; ingest rate before and during, the move's
             duration, and every acknowledged id checked present after.

On 2 cores, three nodes answering one query at once share the cores: the fan-out figure
includes that contention, which separate machines would not have.

Usage: python3 Benchmarks/shards.py HSDB_BINARY [--points 100000] [--queries 1000] [--shards 3]
       [--replication 1] [--skip-move]. Needs `etcd` on PATH (scripts/deps.sh installs it).
"""
import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time

import numpy as np

from bench_server import DIM, Server, call, emit, vectors
from failover import Node, leader_of, start_etcd

DEV = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "dev")


def queries(n):
    q = np.fromfile(os.path.join(DEV, "query.f16"), dtype=np.float16).reshape(-1, DIM).astype(np.float32)
    return q[:n].round(5).tolist()


def ground_truth(n, k=10):
    gt = np.fromfile(os.path.join(DEV, "gt.i32"), dtype=np.int32).reshape(-1, 100)
    return [set(row[:k].tolist()) for row in gt[:n]]


def load(url, name, vecs, batch=500):
    for i in range(0, len(vecs), batch):
        pts = [{"id": i + j, "vector": v} for j, v in enumerate(vecs[i:i + batch])]
        call(f"{url}/collections/{name}/points?wait=true", "PUT", {"points": pts})


def search(url, name, q, exact=False):
    body = {"vector": q, "limit": 10, "params": {"exact": exact}}
    return call(f"{url}/collections/{name}/points/search", "POST", body)["result"]


def latencies(url, name, qs):
    out = []
    for q in qs:
        t = time.perf_counter()
        search(url, name, q)
        out.append(time.perf_counter() - t)
    return out


def pct(values, p):
    return sorted(values)[min(len(values) - 1, int(p / 100 * len(values)))] * 1000


class Ingest(threading.Thread):
    def __init__(self, url, first):
        super().__init__(daemon=True)
        self.url, self.next_id = url, first
        self.acked, self.times, self.failed = [], [], 0
        self.stopping = threading.Event()
        self.rng = np.random.default_rng(first)

    def run(self):
        while not self.stopping.is_set():
            ids = list(range(self.next_id, self.next_id + 8))
            self.next_id += 8
            vecs = self.rng.standard_normal((8, DIM)).astype(np.float32).round(4).tolist()
            try:
                call(f"{self.url}/collections/s/points?wait=true", "PUT",
                     {"points": [{"id": i, "vector": v} for i, v in zip(ids, vecs)]}, timeout=60)
                self.acked += ids
                self.times.append(time.monotonic())
            except OSError:
                self.failed += 1

    def rate(self, a, b):
        return 8 * sum(1 for t in self.times if a <= t < b) / (b - a)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--replication", type=int, default=1)
    ap.add_argument("--ingest-clients", type=int, default=4)
    ap.add_argument("--skip-move", action="store_true")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="hsdb-shards-")
    etcd, etcd_url = start_etcd(work + "/etcd")
    nodes = [Node(binary, work, n, lambda node: ["--etcd", etcd_url, "--node-id", node.name, "--advertise", node.url])
             for n in ("a", "b", "c")]
    single = None
    try:
        for n in nodes:
            n.start()
        leader_of(nodes)
        single = Server(binary, work + "/single")
        spec = {"vectors": {"size": DIM, "distance": "Cosine"}}
        call(f"{single.url}/collections/s", "PUT", spec)
        call(f"{nodes[0].url}/collections/s", "PUT", {**spec, "shard_number": args.shards, "replication_factor": args.replication})
        vecs = vectors(args.points)
        t = time.monotonic()
        load(single.url, "s", vecs)
        single_load = time.monotonic() - t
        t = time.monotonic()
        load(nodes[0].url, "s", vecs)
        sharded_load = time.monotonic() - t
        emit(step="load", points=args.points, single_s=round(single_load, 2), sharded_s=round(sharded_load, 2))
        single.wait_idle(quiet_s=3)
        time.sleep(5)  # the cluster's own flushes and graphs (three processes)
        qs = queries(args.queries)
        same = sum([p["id"] for p in search(single.url, "s", q, True)] == [p["id"] for p in search(nodes[1].url, "s", q, True)]
                   for q in qs[:100])
        counts = [call(f"{u}/collections/s/points/count", "POST", {"exact": True})["result"]["count"] for u in (single.url, nodes[1].url)]
        gt = ground_truth(len(qs))
        recall = {}
        for label, url in (("single", single.url), ("sharded", nodes[1].url)):
            recall[label] = statistics.mean(len({p["id"] for p in search(url, "s", q)} & g) / 10 for q, g in zip(qs, gt))
        emit(step="equality", exact_top10_equal=f"{same}/100", counts=counts,
             recall_single=round(recall["single"], 4), recall_sharded=round(recall["sharded"], 4))
        for _ in range(2):  # alternated, twice
            a = latencies(single.url, "s", qs)
            b = latencies(nodes[1].url, "s", qs)
            emit(step="latency", shards=args.shards, replication=args.replication,
                 single_p50_ms=round(pct(a, 50), 2), single_p99_ms=round(pct(a, 99), 2),
                 sharded_p50_ms=round(pct(b, 50), 2), sharded_p99_ms=round(pct(b, 99), 2),
                 ratio_p50=round(pct(b, 50) / pct(a, 50), 2), ratio_p99=round(pct(b, 99) / pct(a, 99), 2))
        if not args.skip_move:
            move(nodes, args)
    finally:
        for n in nodes:
            n.stop()
        if single:
            single.stop()
        etcd.terminate()
        shutil.rmtree(work, ignore_errors=True)


def move(nodes, args):
    info = call(f"{nodes[0].url}/collections/s/cluster")["result"]
    peers = {n.name: call(f"{n.url}/cluster")["result"]["peer_id"] for n in nodes}
    holders = {n.name for n in nodes if any(s["shard_id"] == 0 for s in call(f"{n.url}/collections/s/cluster")["result"]["local_shards"])}
    source = sorted(holders)[0]
    target = next(n for n in peers if n not in holders)
    writers = [Ingest(nodes[2].url, 10_000_000 * (i + 1)) for i in range(args.ingest_clients)]
    for w in writers:
        w.start()
    time.sleep(10)
    began = time.monotonic()
    call(f"{nodes[0].url}/collections/s/cluster", "POST",
         {"move_shard": {"shard_id": 0, "from_peer_id": peers[source], "to_peer_id": peers[target]}})
    while call(f"{nodes[0].url}/collections/s/cluster")["result"]["shard_transfers"]:
        time.sleep(0.1)
    took = time.monotonic() - began
    time.sleep(2)
    for w in writers:
        w.stopping.set()
    for w in writers:
        w.join()
    before = sum(w.rate(began - 10, began) for w in writers)
    during = sum(w.rate(began, began + took) for w in writers)
    acked = [i for w in writers for i in w.acked]
    got = 0
    for i in range(0, len(acked), 1000):
        got += len(call(f"{nodes[1].url}/collections/s/points", "POST", {"ids": acked[i:i + 1000], "with_payload": False})["result"])
    emit(step="move", shard=0, source=source, target=target, shard_points=info["shard_count"], move_s=round(took, 2),
         ingest_before=round(before), ingest_during=round(during), ratio=round(during / before, 2),
         acknowledged=len(acked), present=got, failed_requests=sum(w.failed for w in writers))


if __name__ == "__main__":
    main()
