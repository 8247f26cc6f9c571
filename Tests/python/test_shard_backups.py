"""Backups of a sharded collection with real processes: three `hsdb serve --etcd --backup-dir`
nodes, each archiving every copy of a shard it holds into `<backup-dir>/shards/...`. Their
backup directories gathered into one, `hsdb restore --collection` brings the whole collection
back into one database, at its latest state and at a point in time; the restored database is
served and read back against what the test wrote."""
import datetime
import json
import os
import random
import shutil
import subprocess
import time
import uuid

import httpx
import pytest

from cluster_harness import Cluster, wait_for
from conftest import BINARY, Server
from etcd_harness import EtcdClient, etcd  # noqa: F401  (fixture)

DIM = 8


def ok(r):
    assert r.status_code == 200, f"{r.status_code} {r.text[:2000]}"
    return r.json()["result"]


def points(rng, ids, tag):
    return [{"id": i, "vector": [round(rng.uniform(-1, 1), 4) for _ in range(DIM)], "payload": {"i": k, "tag": tag}}
            for k, i in enumerate(ids)]


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hsdb(*args, expect=0):
    r = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == expect, f"{args}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def served_points(data_dir):
    """Every point of collection `s` in a restored database, read through `hsdb serve`."""
    server = Server(data_dir)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            info = ok(http.get("/collections/s"))
            got = ok(http.post("/collections/s/points/scroll", json={"limit": 10_000, "with_vector": True}))
            assert got["next_page_offset"] is None
            return info, {p["id"]: p for p in got["points"]}
    finally:
        assert server.stop() == 0


def assert_same(got, model):
    assert sorted(got, key=str) == sorted(model, key=str)
    for pid, p in model.items():
        assert got[pid]["payload"] == p["payload"], pid
        assert got[pid]["vector"] == pytest.approx(p["vector"], abs=1e-6), pid


@pytest.fixture()
def cluster(etcd, tmp_path):  # noqa: F811
    c = Cluster(etcd, tmp_path)
    for node in c.nodes.values():
        node.extra += ["--backup-dir", f"{node.data_dir}-backups", "--archive-interval", "0.5"]
    c.start()
    yield c
    c.close()


def test_a_sharded_collection_is_restored_whole_and_to_a_point_in_time(cluster, etcd, tmp_path):  # noqa: F811
    leader, _ = cluster.leader()
    rng = random.Random(11)
    nodes = list(cluster.nodes.values())
    with httpx.Client(timeout=60) as http:
        ok(http.put(f"{leader.url}/collections/s", json={
            "vectors": {"size": DIM, "distance": "Dot"}, "shard_number": 3, "replication_factor": 2}))
        ok(http.put(f"{nodes[1].url}/collections/s/index?wait=true", json={"field_name": "i", "field_schema": "integer"}))
        ids = list(range(300)) + [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(60)]
        first = points(rng, ids, "first")
        for k in range(0, len(first), 90):
            ok(http.put(f"{nodes[k // 90 % 3].url}/collections/s/points?wait=true", json={"points": first[k:k + 90]}))
        model_then = {p["id"]: p for p in first}
        # Every copy backs up now (a follower's copy too): POST /backups under the shard's prefix.
        with EtcdClient(etcd.url) as e:
            shard_map = json.loads(e.get("/hsdb/hsdb/collections/s"))
        for shard in shard_map["shards"]:
            for name in shard["replicas"]:
                # A follower's copy takes the payload index at its next catalogue poll.
                prefix = f"{cluster.nodes[name].url}/shards/{shard_map['uid']}/{shard['id']}"
                wait_for(lambda: "i" in ok(http.get(f"{prefix}/collections/s"))["payload_schema"], 10, "the index on every copy")
                r = ok(http.post(f"{cluster.nodes[name].url}/shards/{shard_map['uid']}/{shard['id']}/backups"))
                assert [c["name"] for c in r["collections"]] == ["s"]
        moment = now_rfc3339()
        time.sleep(0.05)
        # After the moment: deletes, overwrites and new points, through every node.
        gone = ids[:40]
        ok(http.post(f"{nodes[2].url}/collections/s/points/delete?wait=true", json={"points": gone}))
        changed = points(rng, ids[100:130] + list(range(1000, 1100)), "second")
        ok(http.put(f"{nodes[0].url}/collections/s/points?wait=true", json={"points": changed}))
        model_now = {p["id"]: p for p in first if p["id"] not in gone}
        model_now.update({p["id"]: p for p in changed})
        assert ok(http.post(f"{nodes[1].url}/collections/s/points/count", json={}))["count"] == len(model_now)
    # A clean stop: every copy takes its last backup before it closes.
    cluster.close()

    gathered = str(tmp_path / "gathered")
    for node in nodes:
        shutil.copytree(f"{node.data_dir}-backups", gathered, dirs_exist_ok=True)
    layout = os.path.join(gathered, "shards", "s", shard_map["uid"])
    assert sorted(os.listdir(layout)) == ["0", "1", "2", "SHARDS"]
    for shard in shard_map["shards"]:
        assert sorted(os.listdir(os.path.join(layout, str(shard["id"])))) == sorted(shard["replicas"])

    latest = str(tmp_path / "latest")
    out = hsdb("restore", "--from", gathered, "--to", latest, "--collection", "s").stdout
    assert [line.split(" (")[0] for line in out.splitlines()] == ["shard 0", "shard 1", "shard 2"], out
    info, got = served_points(latest)
    assert_same(got, model_now)
    assert info["payload_schema"]["i"]["data_type"] == "integer"

    then = str(tmp_path / "then")
    hsdb("restore", "--from", gathered, "--to", then, "--collection", "s", "--at-time", moment)
    assert_same(served_points(then)[1], model_then)

    # One node's directory holds two of the three shards: the restore names the missing one
    # and writes nothing.
    only = str(tmp_path / "only-a")
    shutil.copytree(f"{nodes[0].data_dir}-backups", only)
    missing = next(s["id"] for s in shard_map["shards"] if nodes[0].name not in s["replicas"])
    r = hsdb("restore", "--from", only, "--to", str(tmp_path / "partial"), "--collection", "s", expect=1)
    assert f"shard {missing} of 's' has no backup" in r.stderr, r.stderr
    assert not os.path.exists(tmp_path / "partial")
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".restore-")]

    # An LSN is per shard: refused, naming how to restore one shard.
    r = hsdb("restore", "--from", gathered, "--to", str(tmp_path / "lsn"), "--collection", "s", "--at-lsn", "5", expect=1)
    assert "LSNs are per shard" in r.stderr, r.stderr
    # One shard's copy is a backup directory of its own, restorable as any.
    one = os.path.join(layout, "0", shard_map["shards"][0]["replicas"][0])
    hsdb("backup", "verify", one)
    hsdb("restore", "--from", one, "--to", str(tmp_path / "shard0"))
