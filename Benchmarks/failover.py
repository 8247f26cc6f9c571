"""Automatic failover on etcd, measured with real processes (DESIGN.md, "Automatic failover").

  failover   a real etcd and three `hsdb serve --etcd` nodes (default lease TTL 10 s); three
             clients (1.5 s timeouts) write distinct ids to whichever node leads (following its 307s), half to
             a collection with write_consistency_factor 2 (a majority of three), half to one
             with factor 1. N times: the leader is SIGKILLed (or SIGSTOPped, --mode), and the
             time from the signal to the first write acknowledged by the new leader is taken;
             the killed node is restarted (the stopped one resumed) and rejoins as a follower.
             At the end every acknowledged id is looked up on the leader: lost writes are
             counted per collection.
  ingest     leader upsert throughput (200 points of 384 dims per request) of three nodes in a
             cluster against the same three with --replica-of (no etcd), alternated.

Usage: python3 Benchmarks/failover.py HSDB_BINARY [--failovers 50] [--ttl 10] [--mode kill|stop|mixed]
       [--skip-ingest]. Needs `etcd` on PATH (scripts/deps.sh installs it).
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

from bench_server import DIM, call, emit, vectors


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_etcd(work):
    os.makedirs(work, exist_ok=True)
    port, peer = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        ["etcd", "--data-dir", f"{work}/etcd", "--name", "e", "--listen-client-urls", url, "--advertise-client-urls", url,
         "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"e=http://127.0.0.1:{peer}"], stdout=open(f"{work}/etcd.log", "w"), stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            call(url + "/health", timeout=1)
            return proc, url
        except (OSError, ValueError):
            time.sleep(0.1)
    raise RuntimeError("etcd did not start")


class Node:
    def __init__(self, binary, work, name, args):
        self.binary, self.data, self.name, self.args = binary, f"{work}/{name}", name, args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc, self.stopped = None, False

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data", self.data, "--port", str(self.port), "--no-grpc", *self.args(self)],
            stdout=subprocess.PIPE, stderr=open(self.data + ".log", "a"), text=True)
        assert self.proc.stdout.readline().startswith("hsdb listening")
        self.stopped = False

    def signal(self, sig):
        os.kill(self.proc.pid, sig)
        self.stopped = sig == signal.SIGSTOP

    def view(self):
        try:
            return call(self.url + "/cluster", timeout=2)["result"]["hsdb"]
        except (OSError, ValueError, KeyError):
            return None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            if self.stopped:
                os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(timeout=120)


def leader_of(nodes, above=0, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        views = {n.name: n.view() for n in nodes if not n.stopped and n.proc.poll() is None}
        names = {(v["leader"]["name"], v["leader"]["epoch"]) if v and v.get("leader") else None for v in views.values()}
        if len(names) == 1 and None not in names:
            (name, epoch), = names
            if epoch > above and views[name]["role"] == "leader" and views[name]["lease_held"]:
                return next(n for n in nodes if n.name == name), epoch
        time.sleep(0.05)
    raise RuntimeError("no leader")


def put(url, path, body, timeout=1.5):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="PUT",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, None
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("location")
    except OSError:
        return None, None


class Writer(threading.Thread):
    """Distinct ids, alternating between the two collections, to the node that leads."""

    def __init__(self, nodes, first_id):
        super().__init__(daemon=True)
        self.nodes, self.next_id = nodes, first_id
        self.acked = {"major": set(), "one": set()}
        self.ack_times = []
        self.stopping = threading.Event()
        self.target = None

    def run(self):
        while not self.stopping.is_set():
            pid = self.next_id
            self.next_id += 1
            collection = "major" if pid % 2 else "one"
            body = {"points": [{"id": pid, "vector": [1.0] * 8}]}
            path = f"/collections/{collection}/points?wait=true"
            live = [n.url for n in self.nodes if not n.stopped and n.proc.poll() is None]
            url = self.target or (random.choice(live) if live else None)
            status, location = put(url, path, body) if url else (None, None)
            if status == 307 and location:
                url = self.target = location.split("/collections/")[0]
                status, _ = put(self.target, path, body)
            if status == 200:
                self.acked[collection].add(pid)
                self.ack_times.append((time.monotonic(), url))
            else:
                self.target = None
                time.sleep(0.01)


def ids(url, collection):
    out, offset = set(), None
    while True:
        body = {"limit": 10000, "with_payload": False}
        if offset is not None:
            body["offset"] = offset
        page = call(f"{url}/collections/{collection}/points/scroll", "POST", body)["result"]
        out |= {p["id"] for p in page["points"]}
        offset = page["next_page_offset"]
        if offset is None:
            return out


def caught_up(leader, nodes, timeout=120):
    want = {c["name"]: c["durable_lsn"] for c in call(f"{leader.url}/replication/collections")["result"]["collections"]}
    deadline = time.monotonic() + timeout
    for n in nodes:
        if n is leader:
            continue
        while time.monotonic() < deadline:
            try:
                have = {c["name"]: c["applied_lsn"] for c in call(f"{n.url}/replication", timeout=5)["result"]["collections"]}
            except (OSError, ValueError, KeyError):
                have = {}
            if all(have.get(k, -1) >= v for k, v in want.items()):
                break
            time.sleep(0.1)


def failovers(args, work):
    etcd, etcd_url = start_etcd(work)
    cluster_args = lambda n: ["--etcd", etcd_url, "--node-id", n.name, "--advertise", n.url, "--lease-ttl", str(args.ttl)]
    nodes = [Node(args.binary, work, name, cluster_args) for name in "abc"]
    for n in nodes:
        n.start()
    try:
        leader, epoch = leader_of(nodes)
        for name, factor in (("major", 2), ("one", 1)):
            call(f"{leader.url}/collections/{name}", "PUT", {"vectors": {"size": 8, "distance": "Dot"},
                                                           "write_consistency_factor": factor})
        caught_up(leader, nodes)
        writers = [Writer(nodes, 10_000_000 * (i + 1)) for i in range(3)]
        for w in writers:
            w.start()
        times = []
        for i in range(args.failovers):
            time.sleep(1.0)  # writes flowing
            mode = args.mode if args.mode != "mixed" else ("kill" if i % 2 == 0 else "stop")
            t0 = time.monotonic()
            leader.signal(signal.SIGKILL if mode == "kill" else signal.SIGSTOP)
            if mode == "stop":
                leader.stopped = True
            # The first write the new leader acknowledges (answers the old one sent before
            # the signal may still arrive after it).
            def after():
                return [t for w in writers for t, url in w.ack_times[-50:] if t > t0 and url != leader.url]
            while not after():
                if time.monotonic() - t0 > args.ttl * 6:
                    raise RuntimeError(f"no write acknowledged {args.ttl * 6} s after failover {i}")
                time.sleep(0.005)
            first = min(after())
            times.append(first - t0)
            old = leader
            leader, epoch = leader_of(nodes, above=epoch)
            if mode == "kill":
                old.proc.wait()
                old.start()
            else:
                old.signal(signal.SIGCONT)
            caught_up(leader, nodes)
            emit(kind="failover", n=i + 1, mode=mode, seconds=round(times[-1], 3), epoch=epoch, leader=leader.name)
        for w in writers:
            w.stopping.set()
        for w in writers:
            w.join()
        leader, _ = leader_of(nodes)
        acked = {c: set().union(*(w.acked[c] for w in writers)) for c in ("major", "one")}
        lost = {c: len(acked[c] - ids(leader.url, c)) for c in acked}
        times.sort()
        emit(kind="failover_summary", failovers=len(times), ttl_s=args.ttl, mode=args.mode,
             min_s=round(times[0], 2), median_s=round(statistics.median(times), 2),
             p90_s=round(times[int(len(times) * 0.9) - 1] if len(times) >= 10 else times[-1], 2), max_s=round(times[-1], 2),
             acked_factor2=len(acked["major"]), lost_factor2=lost["major"],
             acked_factor1=len(acked["one"]), lost_factor1=lost["one"])
    finally:
        for n in nodes:
            n.stop()
        etcd.kill()


def ingest(args, work):
    vecs = vectors(20_000)
    etcd, etcd_url = start_etcd(work + "/i")

    def rate(leader_url, seconds=8):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            pts = [{"id": (n + j) % len(vecs), "vector": vecs[(n + j) % len(vecs)]} for j in range(200)]
            call(f"{leader_url}/collections/c/points?wait=true", "PUT", {"points": pts})
            n += 200
        return n / (time.perf_counter() - t0)

    results = {"cluster": [], "replica_of": []}
    for round_ in range(2):
        for kind in ("replica_of", "cluster"):
            d = f"{work}/i/{kind}{round_}"
            os.makedirs(d)
            if kind == "cluster":
                nodes = [Node(args.binary, d, name, lambda n: ["--etcd", etcd_url, "--cluster", f"i{round_}", "--node-id", n.name,
                                                               "--advertise", n.url]) for name in "abc"]
                for n in nodes:
                    n.start()
                leader, _ = leader_of(nodes)
            else:
                leader = Node(args.binary, d, "a", lambda n: [])
                leader.start()
                nodes = [leader] + [Node(args.binary, d, name, lambda n: ["--replica-of", leader.url]) for name in "bc"]
                for n in nodes[1:]:
                    n.start()
            call(f"{leader.url}/collections/c", "PUT", {"vectors": {"size": DIM, "distance": "Cosine"}})
            rate(leader.url, 2)  # warm up
            results[kind].append(rate(leader.url))
            for n in nodes:
                n.stop()
    etcd.kill()
    c, r = statistics.median(results["cluster"]), statistics.median(results["replica_of"])
    emit(kind="ingest", points_per_s_cluster=round(c), points_per_s_replica_of=round(r), ratio=round(c / r, 3),
         runs={k: [round(x) for x in v] for k, v in results.items()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--failovers", type=int, default=50)
    ap.add_argument("--ttl", type=int, default=10)
    ap.add_argument("--mode", choices=["kill", "stop", "mixed"], default="mixed")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-failover", action="store_true")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="hsdb-failover-")
    try:
        if not args.skip_ingest:
            ingest(args, work)
        if not args.skip_failover:
            failovers(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
