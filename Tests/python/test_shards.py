"""Shards across nodes with real processes: a real etcd and three `hsdb serve --etcd` nodes.
A collection created with `shard_number` 3 and `replication_factor` 2 is placed in etcd, each
shard a replica group on two nodes with its own leader; any node takes any request. Its
answers are checked against one unsharded collection holding the same points (exact search,
scroll, count, retrieve equal; approximate search at the same recall), and stay so when a
node is killed and its shards fail over."""
import json
import os
import random
import subprocess
import threading
import time
import uuid

import httpx
import pytest

from cluster_harness import Cluster, all_ids, wait_for
from conftest import BINARY
from etcd_harness import EtcdClient, etcd  # noqa: F401  (fixture)

DIM = 16
N = 600


@pytest.fixture()
def cluster(etcd, tmp_path):  # noqa: F811
    c = Cluster(etcd, tmp_path).start()
    yield c
    c.close()


def ok(r):
    assert r.status_code == 200, f"{r.status_code} {r.text[:2000]}"
    return r.json()["result"]


def points(rng, n, start=0):
    out = []
    for i in range(start, start + n):
        pid = i if i % 5 else str(uuid.UUID(int=rng.getrandbits(128)))
        out.append({"id": pid, "vector": [rng.uniform(-1, 1) for _ in range(DIM)], "payload": {"i": i, "even": i % 2 == 0}})
    return out


def create_pair(http, url, distance="Cosine", shards=3, factor=2):
    ok(http.put(f"{url}/collections/flat", json={"vectors": {"size": DIM, "distance": distance}}))
    ok(http.put(f"{url}/collections/sharded", json={
        "vectors": {"size": DIM, "distance": distance}, "shard_number": shards, "replication_factor": factor}))


def same_answers(http, urls, rng, exact=True):
    """Every node's answers on `sharded` equal the unsharded collection's on the leader."""
    leader_url = urls[0]
    for url in urls:
        for _ in range(5):
            q = [rng.uniform(-1, 1) for _ in range(DIM)]
            body = {"vector": q, "limit": 7, "offset": 2, "with_payload": True, "params": {"exact": exact}}
            want = ok(http.post(f"{leader_url}/collections/flat/points/search", json=body))
            got = ok(http.post(f"{url}/collections/sharded/points/search", json=body))
            assert [p["id"] for p in got] == [p["id"] for p in want]
            assert [round(p["score"], 5) for p in got] == [round(p["score"], 5) for p in want]
            qbody = {"query": q, "limit": 5, "filter": {"must": [{"key": "even", "match": {"value": True}}]}, "params": {"exact": exact}}
            want = ok(http.post(f"{leader_url}/collections/flat/points/query", json=qbody))["points"]
            got = ok(http.post(f"{url}/collections/sharded/points/query", json=qbody))["points"]
            assert [p["id"] for p in got] == [p["id"] for p in want]
        # Scroll, page by page, in id order across shards.
        for limit in (1, 37, 1000):
            pages, offset = [], None
            while True:
                body = {"limit": limit, "with_payload": False}
                if offset is not None:
                    body["offset"] = offset
                w = ok(http.post(f"{leader_url}/collections/flat/points/scroll", json=body))
                g = ok(http.post(f"{url}/collections/sharded/points/scroll", json=body))
                assert [p["id"] for p in g["points"]] == [p["id"] for p in w["points"]]
                assert g["next_page_offset"] == w["next_page_offset"]
                pages += g["points"]
                offset = g["next_page_offset"]
                if offset is None or limit == 1 and len(pages) > 60:
                    break
        for flt in (None, {"must": [{"key": "even", "match": {"value": False}}]}):
            body = {"exact": True} if flt is None else {"exact": True, "filter": flt}
            assert ok(http.post(f"{url}/collections/sharded/points/count", json=body)) == \
                ok(http.post(f"{leader_url}/collections/flat/points/count", json=body))
        # Near a stored point (by id, a UUID in another case too): the point itself left out.
        some_uuid = next(p["id"] for p in ok(http.post(f"{leader_url}/collections/flat/points/scroll",
                                                       json={"limit": 1000}))["points"] if isinstance(p["id"], str))
        for target in (7, {"nearest": some_uuid.upper()}):
            body = {"query": target, "limit": 5, "offset": 1, "params": {"exact": exact}}
            want = ok(http.post(f"{leader_url}/collections/flat/points/query", json=body))["points"]
            got = ok(http.post(f"{url}/collections/sharded/points/query", json=body))["points"]
            assert [(p["id"], round(p["score"], 4)) for p in got] == [(p["id"], round(p["score"], 4)) for p in want], target
        # Prefetches fused (RRF, DBSF) or re-scored by a vector: the same top list.
        q1, q2 = ([rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(2))
        for top in ({"fusion": "rrf"}, {"fusion": "dbsf"}, {"rrf": {"k": 5}}, q1):
            body = {"prefetch": [{"query": q1, "limit": 20, "params": {"exact": True}},
                                 {"query": q2, "limit": 15, "filter": {"must": [{"key": "even", "match": {"value": True}}]},
                                  "params": {"exact": True}}],
                    "query": top, "limit": 6, "offset": 1, "with_payload": True,
                    "filter": {"must_not": [{"key": "i", "range": {"gte": 400}}]}}
            want = ok(http.post(f"{leader_url}/collections/flat/points/query", json=body))["points"]
            got = ok(http.post(f"{url}/collections/sharded/points/query", json=body))["points"]
            assert [(p["id"], round(p["score"], 4), p["payload"]) for p in got] == \
                [(p["id"], round(p["score"], 4), p["payload"]) for p in want], top
        for strategy in ("average_vector", "best_score"):
            body = {"positive": [7, 11], "negative": [13], "strategy": strategy, "limit": 6, "offset": 1,
                    "with_payload": False, "params": {"exact": exact}}
            want = ok(http.post(f"{leader_url}/collections/flat/points/recommend", json=body))
            got = ok(http.post(f"{url}/collections/sharded/points/recommend", json=body))
            assert [p["id"] for p in got] == [p["id"] for p in want], strategy
            assert [round(p["score"], 4) for p in got] == [round(p["score"], 4) for p in want], strategy
        missing = {"positive": [424242], "limit": 3}
        r = http.post(f"{url}/collections/sharded/points/recommend", json=missing)
        w = http.post(f"{leader_url}/collections/flat/points/recommend", json=missing)
        assert (r.status_code, r.json()["status"]) == (w.status_code, w.json()["status"]), r.text
        for body in ({"key": "even"}, {"key": "i", "limit": 5}, {"key": "even", "filter": {"must": [{"key": "i", "range": {"lt": 300}}]}}):
            assert ok(http.post(f"{url}/collections/sharded/facet", json=body)) == \
                ok(http.post(f"{leader_url}/collections/flat/facet", json=body))
        ids = [0, 7, 3, 999999, 5, 7]
        want = ok(http.post(f"{leader_url}/collections/flat/points", json={"ids": ids}))
        got = ok(http.post(f"{url}/collections/sharded/points", json={"ids": ids}))
        assert got == want


def write_both(http, url, body, path="points", method="put"):
    for name in ("flat", "sharded"):
        ok(getattr(http, method)(f"{url}/collections/{name}/{path}?wait=true", json=body))


def test_a_sharded_collection_answers_as_one_collection_and_survives_a_node(cluster, etcd):  # noqa: F811
    leader, _ = cluster.leader()
    rng = random.Random(7)
    nodes = list(cluster.nodes.values())
    with httpx.Client(timeout=60) as http:
        create_pair(http, leader.url)
        # The map in etcd: three shards of two copies on distinct nodes, each with a leader.
        info = ok(http.get(f"{nodes[1].url}/collections/sharded/cluster"))
        assert info["shard_count"] == 3
        assert len(info["local_shards"]) + len(info["remote_shards"]) == 6
        # Writes through every node, split by shard; the node-level collection on the leader.
        data = points(rng, N)
        for i, node in enumerate(nodes):
            chunk = data[i * N // 3:(i + 1) * N // 3]
            ok(http.put(f"{node.url}/collections/sharded/points?wait=true", json={"points": chunk}))
            ok(http.put(f"{leader.url}/collections/flat/points?wait=true", json={"points": chunk}))
        # Every shard holds some points, and the copies of each shard hold the same ones.
        counts = {}
        for node in nodes:
            for s in ok(http.get(f"{node.url}/collections/sharded/cluster"))["local_shards"]:
                counts.setdefault(s["shard_id"], set()).add(s["points_count"])
        assert len(counts) == 3 and all(len(v) == 1 and min(v) > 0 for v in counts.values()), counts
        assert sum(min(v) for v in counts.values()) == N
        assert ok(http.get(f"{nodes[2].url}/collections/sharded"))["points_count"] == N
        # Each shard is a replica group of its own: `hsdb replica verify` proves its copies
        # equal, given any copy's URL (a node's URL and the shard's prefix).
        uid = shard_map(etcd, "sharded")["uid"]
        for shard in range(3):
            holder = next(n for n in nodes if any(s["shard_id"] == shard for s in ok(
                http.get(f"{n.url}/collections/sharded/cluster"))["local_shards"]))
            r = subprocess.run([BINARY, "replica", "verify", "--cluster", f"{holder.url}/shards/{uid}/{shard}"],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0 and r.stdout.count("equal  sharded:") == 1, r.stdout + r.stderr
        # Deletes by id and by filter, payload set by id: the same on both.
        write_both(http, leader.url, {"points": [data[i]["id"] for i in range(0, 90, 3)]}, "points/delete", "post")
        write_both(http, leader.url, {"filter": {"must": [{"key": "i", "range": {"gte": 500, "lt": 520}}]}}, "points/delete", "post")
        write_both(http, leader.url, {"payload": {"tag": "x"}, "points": [data[i]["id"] for i in range(100, 200, 7)]}, "points/payload", "post")
        # A payload index goes to every shard; facets then sum exactly.
        write_both(http, leader.url, {"field_name": "even", "field_schema": "bool"}, "index", "put")
        write_both(http, leader.url, {"field_name": "i", "field_schema": "integer"}, "index", "put")
        same_answers(http, [n.url for n in nodes], rng)
        # Bad input changes nothing on any shard: one point of the wrong dimension.
        bad = points(rng, 10, start=N) + [{"id": N + 99, "vector": [0.5] * (DIM + 1)}]
        r = http.put(f"{nodes[1].url}/collections/sharded/points?wait=true", json={"points": bad})
        assert r.status_code == 400 and "dimension" in r.text, r.text
        assert ok(http.post(f"{nodes[1].url}/collections/sharded/points/count", json={"exact": True}))["count"] == \
            ok(http.post(f"{leader.url}/collections/flat/points/count", json={"exact": True}))["count"]
        # A node killed: the shards it led elect new leaders; reads and writes go on, equal.
        victim = nodes[2]
        victim.kill()
        more = points(rng, 60, start=N + 1000)
        write_both(http, nodes[0].url, {"points": more})
        same_answers(http, [nodes[0].url, nodes[1].url], rng)


def test_a_sharded_collection_over_grpc_answers_as_over_rest(etcd, tmp_path):  # noqa: F811
    """qdrant-client with prefer_grpc=True on any node of a cluster: its writes are split by
    shard (the coordinator takes the gRPC call's parsed body) and its reads equal REST's."""
    from qdrant_client import QdrantClient, models
    cluster = Cluster(etcd, tmp_path, grpc=True).start()
    try:
        leader, _ = cluster.leader()
        nodes = list(cluster.nodes.values())
        rng = random.Random(3)
        with httpx.Client(timeout=60) as http:
            create_pair(http, leader.url)
            data = points(rng, 120)
            for i, node in enumerate(nodes):
                g = QdrantClient(host="127.0.0.1", port=node.port, grpc_port=node.grpc_port, prefer_grpc=True,
                                 timeout=30, check_compatibility=False)
                chunk = data[i * 40:(i + 1) * 40]
                wait_for(lambda: g.collection_exists("sharded"), 30, "the node's gRPC port answers")
                g.upsert("sharded", [models.PointStruct(id=p["id"], vector=p["vector"], payload=p["payload"]) for p in chunk],
                         wait=True)
                ok(http.put(f"{leader.url}/collections/flat/points?wait=true", json={"points": chunk}))
                g.close()
            g = QdrantClient(host="127.0.0.1", port=nodes[1].port, grpc_port=nodes[1].grpc_port, prefer_grpc=True,
                             timeout=30, check_compatibility=False)
            assert g.count("sharded", exact=True).count == 120
            flt = models.Filter(must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))])
            for _ in range(5):
                q = [rng.uniform(-1, 1) for _ in range(DIM)]
                got = g.query_points("sharded", query=q, limit=5, query_filter=flt, with_payload=True,
                                     search_params=models.SearchParams(exact=True)).points
                want = ok(http.post(f"{leader.url}/collections/flat/points/query", json={
                    "query": q, "limit": 5, "with_payload": True, "params": {"exact": True},
                    "filter": {"must": [{"key": "even", "match": {"value": True}}]}}))["points"]
                assert [(p.id, round(p.score, 4), p.payload) for p in got] == \
                    [(p["id"], round(p["score"], 4), p["payload"]) for p in want]
            ids = [p["id"] for p in data[:10]]
            g.delete("sharded", points_selector=models.PointIdsList(points=ids), wait=True)
            assert g.count("sharded", exact=True).count == 110
            assert g.retrieve("sharded", ids) == []
            g.close()
    finally:
        cluster.close()


def test_sharded_collections_are_listed_dropped_and_refuse_what_they_do_not_support(cluster):
    leader, _ = cluster.leader()
    nodes = list(cluster.nodes.values())
    with httpx.Client(timeout=60) as http:
        ok(http.put(f"{nodes[1].url}/collections/s", json={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 2}))
        r = http.put(f"{nodes[2].url}/collections/s", json={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 2})
        assert r.status_code == 409 and "already exists" in r.text
        for node in nodes:
            assert "s" in [c["name"] for c in ok(http.get(f"{node.url}/collections"))["collections"]]
            assert ok(http.get(f"{node.url}/collections/s/exists"))["exists"] is True
        r = http.put(f"{nodes[0].url}/collections/s2", json={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 2,
                                                              "replication_factor": 5})
        assert r.status_code == 400 and "replication_factor 5 needs 5 nodes" in r.text, r.text
        r = http.post(f"{nodes[0].url}/collections/s/points/discover", json={"target": [1, 0, 0, 0], "limit": 3})
        assert r.status_code == 400 and "not supported on a sharded collection" in r.text, r.text
        r = http.post(f"{nodes[0].url}/collections/s/points/query", json={"query": 1, "limit": 3})
        assert r.status_code == 404 and "No point with id 1 found" in r.text, r.text
        r = http.post(f"{nodes[0].url}/collections/s/points/query", json={"query": {"context": []}, "limit": 3})
        assert r.status_code == 400 and "not supported on a sharded collection" in r.text, r.text
        assert ok(http.delete(f"{nodes[2].url}/collections/s")) is True
        for node in nodes:
            assert "s" not in [c["name"] for c in ok(http.get(f"{node.url}/collections"))["collections"]]
        # Created again under the same name: a new incarnation, empty.
        ok(http.put(f"{nodes[1].url}/collections/s", json={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 2}))
        assert ok(http.post(f"{nodes[0].url}/collections/s/points/count", json={}))["count"] == 0


def shard_map(etcd, name):  # noqa: F811
    """The collection's shard map as etcd holds it."""
    with EtcdClient(etcd.url) as e:
        return json.loads(e.get(f"/hsdb/hsdb/collections/{name}"))


def shard_leader(etcd, name, shard):  # noqa: F811
    """The node leading a shard, as its election's leader key in etcd names it."""
    uid = shard_map(etcd, name)["uid"]
    with EtcdClient(etcd.url) as e:
        return json.loads(e.get(f"/hsdb/hsdb/shards/{uid}/{shard}/leader"))["name"]


class Ingest:
    """Upserts batches of new ids through one node, recording what was acknowledged and when."""

    def __init__(self, url, name, rng):
        self.url, self.name, self.rng = url, name, rng
        self.acked, self.times, self.failures = [], [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.next_id = 10_000_000

    def run(self):
        with httpx.Client(timeout=60) as http:
            while not self.stop.is_set():
                batch = points(self.rng, 8, start=self.next_id)
                for p in batch:
                    p["id"] = self.next_id
                    self.next_id += 1
                r = http.put(f"{self.url}/collections/{self.name}/points?wait=true", json={"points": batch})
                if r.status_code == 200:
                    self.acked += [p["id"] for p in batch]
                    self.times.append(time.monotonic())
                else:
                    self.failures.append(r.text)

    def rate(self, since, until):
        return sum(1 for t in self.times if since <= t < until) / max(until - since, 1e-9)


def test_a_shard_moves_under_ingest_through_qdrant_client_without_losing_a_write(cluster, etcd):  # noqa: F811
    from qdrant_client import QdrantClient, models
    leader, _ = cluster.leader()
    nodes = list(cluster.nodes.values())
    client = QdrantClient(url=nodes[1].url, timeout=60)
    client.create_collection("m", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
                             shard_number=3, replication_factor=1)
    rng = random.Random(3)
    client.upsert("m", points=[models.PointStruct(**p) for p in points(rng, 300)], wait=True)
    info = client.collection_cluster_info("m")
    assert info.shard_count == 3 and len(info.local_shards) + len(info.remote_shards) == 3
    m = shard_map(etcd, "m")
    source = m["shards"][0]["replicas"][0]
    target = next(n for n in cluster.nodes if n != source)
    peer = {n.name: ok(httpx.get(f"{n.url}/cluster"))["peer_id"] for n in nodes}
    ingest = Ingest(nodes[2].url, "m", random.Random(4))
    ingest.thread.start()
    time.sleep(2)
    began = time.monotonic()
    assert client.cluster_collection_update("m", models.MoveShardOperation(move_shard=models.MoveShard(
        shard_id=0, from_peer_id=peer[source], to_peer_id=peer[target])))
    transfers = client.collection_cluster_info("m").shard_transfers
    assert transfers is not None
    wait_for(lambda: shard_map(etcd, "m")["shards"][0]["replicas"] == [target] and "transfers" not in shard_map(etcd, "m"),
             90, "the move to finish")
    took = time.monotonic() - began
    time.sleep(1)
    ingest.stop.set()
    ingest.thread.join(timeout=60)
    with httpx.Client(timeout=60) as http:
        held = all_ids(nodes[0].url, "m")
        assert set(ingest.acked) <= held, sorted(set(ingest.acked) - held)[:20]
        assert ok(http.post(f"{nodes[0].url}/collections/m/points/count", json={"exact": True}))["count"] == len(held)
        # The source no longer holds the shard (its copy is removed); the target does.
        wait_for(lambda: not any(s["shard_id"] == 0 for s in ok(http.get(
            f"{cluster.nodes[source].url}/collections/m/cluster"))["local_shards"]), 30, "the source to drop its copy")
        assert any(s["shard_id"] == 0 for s in ok(http.get(f"{cluster.nodes[target].url}/collections/m/cluster"))["local_shards"])
    before = ingest.rate(began - 2, began)
    during = ingest.rate(began, began + took)
    print(f"\nmove of shard 0: {took:.2f} s; ingest {before:.0f} points/s before, {during:.0f} during; "
          f"{len(ingest.acked)} acknowledged, {len(ingest.failures)} refused")
    assert not ingest.failures, ingest.failures[:3]


def test_a_departed_node_has_its_copies_made_again_after_the_grace_time(etcd, tmp_path):  # noqa: F811
    c = Cluster(etcd, tmp_path, extra=("--shard-grace", "2")).start()
    try:
        leader, _ = c.leader()
        nodes = list(c.nodes.values())
        rng = random.Random(5)
        with httpx.Client(timeout=60) as http:
            # Both copies acknowledge each write (factor 2): the kill below must not lose a
            # write only a killed shard leader held (DESIGN.md: acknowledged writes survive a
            # leader's loss with a majority factor only).
            ok(http.put(f"{nodes[0].url}/collections/r", json={
                "vectors": {"size": DIM, "distance": "Dot"}, "shard_number": 3, "replication_factor": 2,
                "write_consistency_factor": 2}))
            data = points(rng, 300)
            ok(http.put(f"{nodes[0].url}/collections/r/points?wait=true", json={"points": data}))
            victim = next(n for n in nodes if n is not leader)
            victim.kill()
            live = {n.name for n in nodes if n is not victim}

            def replaced():
                m = shard_map(etcd, "r")
                return "transfers" not in m and all(set(s["replicas"]) == live for s in m["shards"])
            wait_for(replaced, 90, "every shard to have its two copies on the live nodes")
            survivor = next(n for n in nodes if n is not victim)
            assert all_ids(survivor.url, "r") == {p["id"] for p in data}
            # Every live node holds a full copy of every shard, each with the points of its shard.
            for node in nodes:
                if node is victim:
                    continue
                local = ok(http.get(f"{node.url}/collections/r/cluster"))["local_shards"]
                assert sorted(s["shard_id"] for s in local) == [0, 1, 2]
                assert sum(s["points_count"] for s in local) == len(data)
    finally:
        c.close()


class Model:
    """What one collection holds after the acknowledged writes: id -> (unit vector, payload)."""

    def __init__(self):
        self.points = {}

    def upsert(self, batch):
        for p in batch:
            norm = sum(x * x for x in p["vector"]) ** 0.5
            self.points[p["id"]] = ([x / norm for x in p["vector"]], dict(p.get("payload") or {}))

    def delete(self, ids):
        for i in ids:
            self.points.pop(i, None)

    def delete_group(self, g):
        self.points = {k: v for k, v in self.points.items() if v[1].get("g") != g}

    def set_payload(self, ids, payload):
        for i in ids:
            if i in self.points:
                self.points[i][1].update(payload)

    def top(self, q, k):
        norm = sum(x * x for x in q) ** 0.5
        scored = [(sum(a * b / norm for a, b in zip(v, q)), i) for i, (v, _) in self.points.items()]
        return sorted(scored, key=lambda t: -t[0])[:k]


def check_against(http, url, model, rng):
    """The sharded collection, read through `url`, holds exactly the model's points."""
    page = ok(http.post(f"{url}/collections/mm/points/scroll", json={"limit": 10_000, "with_payload": True}))
    assert page["next_page_offset"] is None
    assert {p["id"]: p["payload"] for p in page["points"]} == {i: v[1] for i, v in model.points.items()}
    assert ok(http.post(f"{url}/collections/mm/points/count", json={"exact": True}))["count"] == len(model.points)
    q = [rng.uniform(-1, 1) for _ in range(DIM)]
    got = ok(http.post(f"{url}/collections/mm/points/search", json={"vector": q, "limit": 5, "params": {"exact": True}}))
    want = model.top(q, 5)
    assert [round(p["score"], 4) for p in got] == [round(s, 4) for s, _ in want]
    for i, (p, (s, pid)) in enumerate(zip(got, want)):
        near_tie = any(abs(s - t) < 1e-5 for j, (t, _) in enumerate(want) if j != i)
        assert near_tie or p["id"] == pid, (got, want)


def test_random_operations_match_a_model_across_a_move_a_kill_and_a_failover(etcd, tmp_path):  # noqa: F811
    """Seeded random upserts, deletes (by id and filter) and payload updates through random
    nodes, checked against an in-memory model after each step; meanwhile a shard moves, a
    node is SIGKILLed (its shards fail over, then are made again after the grace time) and
    comes back (its stale copies go)."""
    c = Cluster(etcd, tmp_path, extra=("--shard-grace", "2")).start()
    rng = random.Random(int(os.environ.get("HSDB_SHARD_SEED", "21")))
    model = Model()
    try:
        c.leader()
        with httpx.Client(timeout=60) as http:
            ok(http.put(f"{c.nodes['a'].url}/collections/mm", json={
                "vectors": {"size": DIM, "distance": "Cosine"}, "shard_number": 3, "replication_factor": 2,
                "write_consistency_factor": 2}))
            victim = None
            for step in range(120):
                url = rng.choice([n.url for n in c.live()])
                roll = rng.random()
                if roll < 0.5:
                    batch = points(rng, rng.randint(1, 20), start=rng.randrange(300))
                    for p in batch:
                        p["payload"]["g"] = rng.randrange(4)
                    ok(http.put(f"{url}/collections/mm/points?wait=true", json={"points": batch}))
                    model.upsert(batch)
                elif roll < 0.65 and model.points:
                    ids = rng.sample(sorted(model.points, key=str), min(5, len(model.points))) + [rng.randrange(1000)]
                    ok(http.post(f"{url}/collections/mm/points/delete?wait=true", json={"points": ids}))
                    model.delete(ids)
                elif roll < 0.7:
                    g = rng.randrange(4)
                    ok(http.post(f"{url}/collections/mm/points/delete?wait=true",
                                 json={"filter": {"must": [{"key": "g", "match": {"value": g}}]}}))
                    model.delete_group(g)
                elif roll < 0.85 and model.points:
                    ids = rng.sample(sorted(model.points, key=str), min(8, len(model.points)))
                    ok(http.post(f"{url}/collections/mm/points/payload?wait=true", json={"payload": {"tag": step}, "points": ids}))
                    model.set_payload(ids, {"tag": step})
                else:
                    check_against(http, url, model, rng)
                if step == 30:
                    m = shard_map(etcd, "mm")
                    replicas = m["shards"][1]["replicas"]
                    target = next(n for n in c.nodes if n not in replicas)
                    peer = {n.name: ok(http.get(f"{n.url}/cluster"))["peer_id"] for n in c.live()}
                    ok(http.post(f"{url}/collections/mm/cluster", json={"move_shard": {
                        "shard_id": 1, "from_peer_id": peer[replicas[0]], "to_peer_id": peer[target]}}))
                if step == 60:
                    wait_for(lambda: "transfers" not in shard_map(etcd, "mm"), 60, "the move")
                    victim = c.nodes[shard_leader(etcd, "mm", 0)]  # a failover of shard 0 at least
                    victim.kill()
                    # Every acknowledged write was on two copies: the survivors hold them all.
                    for n in c.live():
                        check_against(http, n.url, model, rng)
                    live = {n.name for n in c.live()}
                    wait_for(lambda: "transfers" not in (m := shard_map(etcd, "mm"))
                             and all(set(s["replicas"]) <= live and len(s["replicas"]) == 2 for s in m["shards"]),
                             90, "the departed node's copies to be made again")
                if step == 90:
                    victim.start()
                    # Its copies were made again elsewhere: it holds none now, and removes them.
                    wait_for(lambda: ok(http.get(f"{victim.url}/collections/mm/cluster"))["local_shards"] == [], 30,
                             "the returning node to drop its stale copies")
                    wait_for(lambda: not os.path.exists(os.path.join(victim.data_dir, "shards")) or not any(
                        os.scandir(os.path.join(victim.data_dir, "shards"))), 30, "its stale copies' directories to go")
            for n in c.live():
                check_against(http, n.url, model, rng)
    finally:
        c.close()


def test_the_readme_shards_example_runs_as_written(cluster, etcd):  # noqa: F811
    """README's qdrant-client snippet, run as written against a three-node cluster (the
    node's URL and the two peer ids filled in)."""
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    section = readme.split("### Shards: a collection bigger than one machine", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    cluster.leader()
    nodes = list(cluster.nodes.values())
    code = code.replace("http://127.0.0.1:6332", nodes[1].url)

    def peers_for_shard_0():
        m = shard_map(etcd, "big")
        holders = m["shards"][0]["replicas"]
        peer = {n.name: ok(httpx.get(f"{n.url}/cluster"))["peer_id"] for n in nodes}
        return peer[holders[0]], peer[next(n for n in peer if n not in holders)], holders[0]

    head, tail = code.split("# move shard 0", 1)
    tail = tail.split("\n", 1)[1]
    scope = {}
    exec(head, scope)
    from_peer, to_peer, source = peers_for_shard_0()
    exec(tail.replace("FROM_PEER", str(from_peer)).replace("TO_PEER", str(to_peer)), scope)
    hits = scope["client"].query_points("big", query=[1, 1, 2, 3], limit=3).points
    assert len(hits) == 3 and hits[0].id == 1
    wait_for(lambda: "transfers" not in shard_map(etcd, "big") and source not in shard_map(etcd, "big")["shards"][0]["replicas"],
             60, "the README's move")
    assert scope["client"].count("big", exact=True).count == 99


def test_a_transfer_whose_destination_dies_is_abandoned_or_repaired(etcd, tmp_path):  # noqa: F811
    """A move's destination is SIGKILLed as the move starts. Either the move had finished
    (then the dead node's new copy is replaced after the grace time) or it had not (then the
    transfer is abandoned after the grace time): in the end no transfer is left, the shard
    has two live copies, and nothing acknowledged is missing."""
    c = Cluster(etcd, tmp_path, extra=("--shard-grace", "2")).start()
    try:
        c.leader()
        nodes = list(c.nodes.values())
        with httpx.Client(timeout=60) as http:
            ok(http.put(f"{nodes[0].url}/collections/t", json={
                "vectors": {"size": DIM, "distance": "Dot"}, "shard_number": 3, "replication_factor": 2}))
            data = points(random.Random(9), 300)
            ok(http.put(f"{nodes[0].url}/collections/t/points?wait=true", json={"points": data}))
            replicas = shard_map(etcd, "t")["shards"][0]["replicas"]
            target = next(n for n in c.nodes.values() if n.name not in replicas)
            peer = {n.name: ok(http.get(f"{n.url}/cluster"))["peer_id"] for n in nodes}
            survivor = next(n for n in nodes if n is not target)
            ok(http.post(f"{survivor.url}/collections/t/cluster", json={"move_shard": {
                "shard_id": 0, "from_peer_id": peer[replicas[0]], "to_peer_id": peer[target.name]}}))
            target.kill()
            live = {n.name for n in c.live()}
            wait_for(lambda: "transfers" not in (m := shard_map(etcd, "t"))
                     and all(set(s["replicas"]) <= live and len(s["replicas"]) == 2 for s in m["shards"]),
                     90, "the transfer to be abandoned or the dead node's copies replaced")
            assert all_ids(survivor.url, "t") == {p["id"] for p in data}
    finally:
        c.close()


def test_a_shard_without_a_reachable_copy_fails_reads_unless_partial_answers_are_asked_for(cluster, etcd):  # noqa: F811
    cluster.leader()
    nodes = list(cluster.nodes.values())
    with httpx.Client(timeout=60) as http:
        ok(http.put(f"{nodes[0].url}/collections/p", json={"vectors": {"size": DIM, "distance": "Dot"}, "shard_number": 3}))
        data = points(random.Random(11), 300)
        ok(http.put(f"{nodes[0].url}/collections/p/points?wait=true", json={"points": data}))
        m = shard_map(etcd, "p")
        lost = 1
        victim = cluster.nodes[m["shards"][lost]["replicas"][0]]
        held = {s["shard_id"]: s["points_count"] for n in nodes for s in ok(http.get(f"{n.url}/collections/p/cluster"))["local_shards"]}
        victim.kill()
        asker = next(n for n in nodes if n is not victim)
        q = {"vector": [0.5] * DIM, "limit": 5}
        r = http.post(f"{asker.url}/collections/p/points/search", json=q)
        assert r.status_code == 503 and f"shard {lost} of collection 'p' has no copy reachable" in r.text, r.text
        r = http.post(f"{asker.url}/collections/p/points/count?partial=true", json={"exact": True})
        assert r.status_code == 200 and r.headers["hsdb-missing-shards"] == str(lost), r.text
        assert r.json()["result"]["count"] == len(data) - held[lost]
        r = http.post(f"{asker.url}/collections/p/points/search?partial=true", json=q)
        assert r.status_code == 200 and r.headers["hsdb-missing-shards"] == str(lost) and len(r.json()["result"]) == 5
