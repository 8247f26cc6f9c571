"""Clusters of real `hsdb serve --etcd` processes for the failover tests: each node on its
own loopback port, advertised by URL, with a short lease so a failover takes seconds. The
nodes elect their leader in a real etcd (etcd_harness); the tests kill (SIGKILL), stall
(SIGSTOP/SIGCONT) and restart them."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import httpx
import pytest

from conftest import BINARY

LEASE_TTL = 4  # seconds; keepalive 0.8 s, etcd request timeout 1.2 s, deadline margin 0.4 s


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One `hsdb serve` in cluster mode; keeps its port and data across restarts."""

    def __init__(self, name, data_dir, etcd_endpoints, ttl=LEASE_TTL, extra=(), grpc=False):
        self.name, self.data_dir, self.etcd, self.ttl, self.extra = name, data_dir, etcd_endpoints, ttl, list(extra)
        self.port = free_port()
        self.grpc_port = free_port() if grpc else None
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.stopped = False
        self.logs = []

    def start(self):
        log_path = f"{self.data_dir}.{len(self.logs)}.log"
        self.logs.append(log_path)
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--data", self.data_dir, "--port", str(self.port),
             *(["--grpc-port", str(self.grpc_port)] if self.grpc_port else ["--no-grpc"]),
             "--etcd", self.etcd, "--node-id", self.name, "--advertise", self.url, "--lease-ttl", str(self.ttl),
             *self.extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if line.startswith("hsdb gRPC on "):  # the two listeners report in either order
            line = self.proc.stdout.readline()
        if not line.startswith("hsdb listening on "):
            self.proc.kill()
            pytest.fail(f"node {self.name} did not start: {line!r}\n{self.tail()}")
        self.stopped = False
        return self

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.alive:
            if self.stopped:
                os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.stopped = False

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.stopped = True

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.stopped = False

    def terminate(self):
        if self.alive:
            if self.stopped:
                self.resume()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def tail(self, lines=40):
        if not self.logs:
            return ""
        with open(self.logs[-1]) as f:
            return f"--- {self.name} ({self.logs[-1]}) ---\n" + "".join(f.readlines()[-lines:])

    def cluster(self, timeout=2):
        """This node's GET /cluster `hsdb` view, or None when it does not answer."""
        try:
            r = httpx.get(self.url + "/cluster", timeout=timeout)
            return r.json()["result"]["hsdb"] if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError):
            return None


class Cluster:
    def __init__(self, etcd, tmp_path, names=("a", "b", "c"), ttl=LEASE_TTL, extra=(), grpc=False):
        self.etcd = etcd
        self.nodes = {n: Node(n, str(tmp_path / n), etcd.endpoints_arg, ttl, extra, grpc) for n in names}

    def start(self):
        for node in self.nodes.values():
            node.start()
        return self

    def close(self):
        for node in self.nodes.values():
            node.terminate()

    def live(self):
        return [n for n in self.nodes.values() if n.alive and not n.stopped]

    def leader(self, timeout=30, exclude=(), above_epoch=0):
        """Waits until every live node (but `exclude`) names the same leader, of an epoch above
        `above_epoch`, and that leader says it leads with its lease held; returns (node, epoch)."""
        deadline = time.monotonic() + timeout
        views = {}
        while time.monotonic() < deadline:
            views = {n.name: n.cluster() for n in self.live() if n.name not in exclude}
            named = {(v["leader"]["name"], v["leader"]["epoch"]) if v and v.get("leader") else None for v in views.values()}
            if len(named) == 1 and None not in named:
                (name, epoch), = named
                leader = views.get(name)
                if epoch > above_epoch and leader and leader["role"] == "leader" and leader["lease_held"]:
                    return self.nodes[name], epoch
            time.sleep(0.05)
        pytest.fail(f"no single leader in {timeout} s: {json.dumps(views)[:2000]}\n" + "\n".join(
            n.tail(15) for n in self.nodes.values()))

    def wait_followers(self, leader, timeout=60):
        """Waits until every live node but the leader streams every collection at the leader's
        durable LSN."""
        from test_replication import wait_caught_up
        with httpx.Client(base_url=leader.url, timeout=10) as lc:
            for node in self.live():
                if node is not leader:
                    with httpx.Client(base_url=node.url, timeout=10) as fc:
                        wait_caught_up(lc, fc, timeout)


class ClusterWriter(threading.Thread):
    """Upserts distinct ids to whichever node leads, as a client would: a 307 is followed to
    the leader it names; 503 or a broken connection leave the write's outcome unknown. Records
    every acknowledged id (and when), and every id whose outcome is unknown."""

    def __init__(self, cluster, collection, dim, start_id=1_000_000, wait="true"):
        super().__init__(daemon=True)
        self.cluster, self.collection, self.dim, self.next_id, self.wait = cluster, collection, dim, start_id, wait
        self.acked, self.unknown, self.ack_times = [], [], []
        self.stopping = threading.Event()
        self.error = None
        self.target = None

    def run(self):
        with httpx.Client(timeout=15) as http:
            while not self.stopping.is_set():
                pid = self.next_id
                self.next_id += 1
                body = {"points": [{"id": pid, "vector": [float(pid % 7 + 1)] * self.dim, "payload": {"i": pid}}]}
                outcome = self.send(http, body)
                if outcome is True:
                    self.acked.append(pid)
                    self.ack_times.append(time.monotonic())
                elif outcome is None:
                    self.unknown.append(pid)
                    time.sleep(0.02)
                else:
                    time.sleep(0.02)

    def send(self, http, body):
        """True: acknowledged; False: refused before anything was done; None: unknown."""
        nodes = [n for n in self.cluster.live()]
        url = self.target or (nodes[0].url if nodes else None)
        if url is None:
            return False
        path = f"/collections/{self.collection}/points?wait={self.wait}"
        try:
            r = http.put(url + path, json=body)
            if r.status_code == 307:
                self.target = r.headers["location"].split("/collections/")[0]
                r = http.put(r.headers["location"], json=body)
        except httpx.HTTPError:
            self.target = None
            return None
        if r.status_code == 200:
            return True
        self.target = None
        if r.status_code in (307, 403):
            return False
        if r.status_code == 503 and ("no leader" in r.text or "was not applied" in r.text):
            return False  # refused before the write: no node leads
        if r.status_code == 503:
            return None
        self.error = f"{r.status_code}: {r.text}"
        return False

    def stop(self):
        self.stopping.set()
        self.join(timeout=60)


def all_ids(url, collection):
    ids, offset = set(), None
    with httpx.Client(base_url=url, timeout=30) as http:
        while True:
            body = {"limit": 5000, "with_payload": False, "with_vector": False}
            if offset is not None:
                body["offset"] = offset
            r = http.post(f"/collections/{collection}/points/scroll", json=body)
            assert r.status_code == 200, r.text
            page = r.json()["result"]
            ids |= {p["id"] for p in page["points"]}
            offset = page["next_page_offset"]
            if offset is None:
                return ids


def wait_for(probe, timeout, what):
    """Polls `probe` until it returns something true (returned), or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")
