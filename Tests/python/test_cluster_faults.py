"""A seeded loop of faults under concurrent clients, checked for linearizability. Three
`hsdb serve --etcd` nodes and a real etcd; three clients put, delete and read a handful of
keys (points of a collection with write_consistency_factor 2, a majority), each operation
recorded with its invocation and answer times and outcome. Meanwhile the leader is killed,
stalled past its lease, a follower killed, or the lead handed over, in an order drawn from
the seed. At the end the history is checked (linearizability.py): per key, some order of the
operations within their times explains every acknowledged write and every read the leader
vouched for (`hsdb-leader-epoch`), and the final state; so every acknowledged upsert is
present and nothing is that was never written. The same loop runs on a sharded collection
(three shards of two copies, each with its own leader), where any node routes each
operation to its key's shard, and a shard's move joins the faults.

Knobs: HSDB_CLUSTER_SEED (default 7), HSDB_CLUSTER_FAULT_ROUNDS (default 4) or
HSDB_CLUSTER_FAULT_SECONDS (run for that long instead, e.g. 3600)."""
import os
import random
import subprocess
import threading
import time

import httpx
import pytest

from cluster_harness import LEASE_TTL, Cluster
from conftest import BINARY
from etcd_harness import etcd  # noqa: F401  (fixture)
from linearizability import Op, check_final

SEED = int(os.environ.get("HSDB_CLUSTER_SEED", "7"))
ROUNDS = int(os.environ.get("HSDB_CLUSTER_FAULT_ROUNDS", "4"))
SECONDS = float(os.environ.get("HSDB_CLUSTER_FAULT_SECONDS", "0"))
KEYS = 6
VECTOR = [1.0, 0.5, 0.25, 0.125]


class Client(threading.Thread):
    """Puts (unique values), deletes and reads random keys at whichever node leads."""

    def __init__(self, cluster, number, seed, history, lock):
        super().__init__(daemon=True)
        self.cluster, self.number, self.rng = cluster, number, random.Random(seed)
        self.history, self.lock = history, lock
        self.stopping = threading.Event()
        self.target, self.counter, self.error = None, 0, None

    def run(self):
        with httpx.Client(timeout=3) as http:
            while not self.stopping.is_set():
                try:
                    self.one(http)
                except Exception as e:  # a bug in the test itself: stop and report
                    self.error = repr(e)
                    return

    def one(self, http):
        key = self.rng.randrange(KEYS)
        roll = self.rng.random()
        kind = "put" if roll < 0.5 else "delete" if roll < 0.6 else "get"
        value = None
        if kind == "put":
            self.counter += 1
            value = self.number * 1_000_000 + self.counter
        invoke = time.monotonic()
        ok, read = self.send(http, kind, key, value)
        complete = time.monotonic()
        if kind == "get":
            value = read
        with self.lock:
            self.history.append(Op(self.number, kind, key, value, invoke, complete, ok))
        if ok is not True:
            time.sleep(0.02)

    def request(self, http, kind, key, value):
        url = self.target or self.rng.choice([n.url for n in self.cluster.live()])
        if kind == "put":
            body = {"points": [{"id": key, "vector": VECTOR, "payload": {"v": value}}]}
            return http.put(f"{url}/collections/kv/points?wait=true", json=body)
        if kind == "delete":
            return http.post(f"{url}/collections/kv/points/delete?wait=true", json={"points": [key]})
        return http.get(f"{url}/collections/kv/points/{key}")

    def send(self, http, kind, key, value):
        """(ok, value read): ok True acknowledged, False not done, None unknown."""
        try:
            r = self.request(http, kind, key, value)
            if r.status_code == 307:
                self.target = r.headers["location"].split("/collections/")[0]
                r = self.request(http, kind, key, value)
        except httpx.HTTPError:
            self.target = None
            return (False if kind == "get" else None), None
        if kind == "get":
            if r.status_code not in (200, 404) or "hsdb-leader-epoch" not in r.headers:
                self.target = None if "hsdb-leader-epoch" not in r.headers else self.target
                return False, None  # not a read the leader vouched for: not in the history
            return True, (r.json()["result"]["payload"]["v"] if r.status_code == 200 else None)
        if r.status_code == 200:
            return True, None
        self.target = None
        if r.status_code in (307, 403) or (r.status_code == 503 and ("no leader" in r.text or "was not applied" in r.text)):
            return False, None
        if r.status_code == 503:
            return None, None
        self.error = f"{kind} {key}: {r.status_code} {r.text}"
        return False, None


def move_a_shard(cluster, etcd, rng):  # noqa: F811
    """Moves a random shard of `kv` from one of its copies to the node without one, and waits
    until the move is done."""
    from cluster_harness import wait_for
    from test_shards import shard_map
    m = shard_map(etcd, "kv")
    shard = rng.randrange(len(m["shards"]))
    replicas = m["shards"][shard]["replicas"]
    source, target = rng.choice(replicas), next(n for n in cluster.nodes if n not in replicas)
    peer = {n.name: httpx.get(f"{n.url}/cluster", timeout=10).json()["result"]["peer_id"] for n in cluster.live()}
    body = {"move_shard": {"shard_id": shard, "from_peer_id": peer[source], "to_peer_id": peer[target]}}
    r = httpx.post(f"{cluster.nodes[target].url}/collections/kv/cluster", json=body, timeout=30)
    assert r.status_code == 200, r.text
    wait_for(lambda: "transfers" not in shard_map(etcd, "kv"), 90, f"the move of shard {shard} to {target}")


def inject(cluster, fault, rng, etcd=None):  # noqa: F811
    leader, epoch = cluster.leader()
    if fault == "move shard":
        move_a_shard(cluster, etcd, rng)
    elif fault == "kill leader":
        leader.kill()
        cluster.leader(above_epoch=epoch, exclude=(leader.name,), timeout=LEASE_TTL * 6)
        leader.start()
    elif fault == "stall leader":
        leader.pause()
        time.sleep(LEASE_TTL + rng.uniform(0, 2))
        leader.resume()
    elif fault == "kill follower":
        follower = rng.choice([n for n in cluster.live() if n is not leader])
        follower.kill()
        time.sleep(rng.uniform(0.5, 2))
        follower.start()
    elif fault == "switchover":
        r = subprocess.run([BINARY, "replica", "switchover", "--server", leader.url], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    cluster.leader()


@pytest.mark.parametrize("sharded", [False, True], ids=["replicated", "sharded"])
def test_faults_under_concurrent_clients_keep_the_history_linearizable(etcd, tmp_path, sharded):  # noqa: F811
    rng = random.Random(SEED)
    cluster = Cluster(etcd, tmp_path).start()
    history, lock = [], threading.Lock()
    clients = []
    try:
        leader, _ = cluster.leader()
        spec = {"vectors": {"size": len(VECTOR), "distance": "Dot"}, "write_consistency_factor": 2}
        if sharded:
            spec.update(shard_number=3, replication_factor=2)
        assert httpx.put(f"{leader.url}/collections/kv", json=spec, timeout=30).status_code == 200
        cluster.wait_followers(leader)
        clients = [Client(cluster, i, rng.random(), history, lock) for i in range(3)]
        for c in clients:
            c.start()
        # On shards, a node-level switchover moves no shard's lead: a shard's move does.
        faults = ["move shard", "kill leader", "stall leader", "kill follower"] if sharded else \
            ["kill leader", "stall leader", "kill follower", "switchover"]
        started, done = time.monotonic(), []
        while (time.monotonic() - started < SECONDS) if SECONDS else len(done) < ROUNDS:
            time.sleep(rng.uniform(0.5, 2))
            fault = faults[len(done) % len(faults)] if len(done) < len(faults) else rng.choice(faults)
            inject(cluster, fault, rng, etcd)
            done.append(fault)
        time.sleep(1)
        for c in clients:
            c.stopping.set()
        for c in clients:
            c.join(timeout=30)
        assert all(c.error is None for c in clients), [c.error for c in clients]
        leader, _ = cluster.leader()
        final = {}
        for key in range(KEYS):
            # A routing node may first ask a copy that no longer leads its shard (unvouched).
            for _ in range(50):
                r = httpx.get(f"{leader.url}/collections/kv/points/{key}", timeout=30)
                if "hsdb-leader-epoch" in r.headers:
                    break
                time.sleep(0.1)
            assert r.status_code in (200, 404) and "hsdb-leader-epoch" in r.headers, r.text
            final[key] = r.json()["result"]["payload"]["v"] if r.status_code == 200 else None
        acked = [op for op in history if op.ok]
        assert sum(op.kind == "put" for op in acked) > 20 and sum(op.kind == "get" for op in acked) > 20, \
            f"too few operations to check: {len(acked)} acknowledged of {len(history)}"
        problems = check_final(history, final)
        assert not problems, f"seed {SEED}, faults {done}:\n" + "\n\n".join(problems[:5])
    finally:
        for c in clients:
            c.stopping.set()
        cluster.close()
