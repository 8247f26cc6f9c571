"""Shards across nodes with real processes: a real etcd and three `hsdb serve --etcd` nodes.
A collection created with `shard_number` 3 and `replication_factor` 2 is placed in etcd, each
shard a replica group on two nodes with its own leader; any node takes any request. Its
answers are checked against one unsharded collection holding the same points (exact search,
scroll, count, retrieve equal; approximate search at the same recall), and stay so when a
node is killed and its shards fail over."""
import random
import uuid

import httpx
import pytest

from cluster_harness import Cluster
from etcd_harness import etcd  # noqa: F401  (fixture)

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
        ids = [0, 7, 3, 999999, 5, 7]
        want = ok(http.post(f"{leader_url}/collections/flat/points", json={"ids": ids}))
        got = ok(http.post(f"{url}/collections/sharded/points", json={"ids": ids}))
        assert got == want


def write_both(http, url, body, path="points", method="put"):
    for name in ("flat", "sharded"):
        ok(getattr(http, method)(f"{url}/collections/{name}/{path}?wait=true", json=body))


def test_a_sharded_collection_answers_as_one_collection_and_survives_a_node(cluster):
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
        # Deletes by id and by filter, payload set by id: the same on both.
        write_both(http, leader.url, {"points": [data[i]["id"] for i in range(0, 90, 3)]}, "points/delete", "post")
        write_both(http, leader.url, {"filter": {"must": [{"key": "i", "range": {"gte": 500, "lt": 520}}]}}, "points/delete", "post")
        write_both(http, leader.url, {"payload": {"tag": "x"}, "points": [data[i]["id"] for i in range(100, 200, 7)]}, "points/payload", "post")
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
        r = http.post(f"{nodes[0].url}/collections/s/points/recommend", json={"positive": [1], "limit": 3})
        assert r.status_code == 400 and "not supported on a sharded collection" in r.text, r.text
        r = http.post(f"{nodes[0].url}/collections/s/points/query", json={"query": 1, "limit": 3})
        assert r.status_code == 400 and "by point id" in r.text, r.text
        assert ok(http.delete(f"{nodes[2].url}/collections/s")) is True
        for node in nodes:
            assert "s" not in [c["name"] for c in ok(http.get(f"{node.url}/collections"))["collections"]]
        # Created again under the same name: a new incarnation, empty.
        ok(http.put(f"{nodes[1].url}/collections/s", json={"vectors": {"size": 4, "distance": "Dot"}, "shard_number": 2}))
        assert ok(http.post(f"{nodes[0].url}/collections/s/points/count", json={}))["count"] == 0
