"""Replication between real `hsdb serve` processes over loopback sockets: a follower copies
its leader's collections and log, serves reads and refuses writes, and ends equal to the
leader after SIGKILLs, leader restarts, a silently cut link, and a bootstrap from a snapshot
when the log it needs is gone. The follower reaches its leader through `LinkProxy`, whose
link the tests cut."""
import json
import os
import random
import re
import signal
import subprocess
import threading
import time

import httpx
import manifest_file
import pytest

from conftest import BINARY
from link_proxy import LinkProxy

DIM = 16
CATCH_UP_SECONDS = 60


def vector(rng):
    return [rng.uniform(-1, 1) for _ in range(DIM)]


def everything(http, name):
    """Every point of a collection, ids, vectors and payloads, in id order."""
    out, offset = [], None
    while True:
        body = {"limit": 1000, "with_payload": True, "with_vector": True}
        if offset is not None:
            body["offset"] = offset
        r = http.post(f"/collections/{name}/points/scroll", json=body)
        assert r.status_code == 200, r.text
        page = r.json()["result"]
        out += [(p["id"], [round(x, 5) for x in p["vector"]], p["payload"]) for p in page["points"]]
        offset = page["next_page_offset"]
        if offset is None:
            return out


def durable_lsns(leader):
    catalog = leader.get("/replication/collections").json()["result"]
    return {c["name"]: c["durable_lsn"] for c in catalog["collections"]}


def wait_caught_up(leader, follower, timeout=CATCH_UP_SECONDS):
    """Waits until the follower reports every collection of the leader applied to the
    leader's durable LSN, streaming; returns its status. Fails with the last status."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        want = durable_lsns(leader)
        try:
            status = follower.get("/replication").json()["result"]
        except httpx.HTTPError:
            status = None
        if status is not None:
            have = {c["name"]: c for c in status["collections"]}
            if set(have) == set(want) and all(
                    have[n]["applied_lsn"] >= lsn and have[n]["state"] == "streaming" for n, lsn in want.items()):
                return status
        time.sleep(0.1)
    pytest.fail(f"the follower did not catch up in {timeout} s: leader at {durable_lsns(leader)}, follower {status}")


def assert_equal(leader, follower, names):
    for name in names:
        assert everything(follower, name) == everything(leader, name), f"collection {name} differs"


def fill_past_a_flush(leader, rng, pad):
    """2 MB of payloads, over the 1 MiB memtable, then waits until some are in a segment."""
    for batch in range(20):
        pts = [{"id": batch * 100 + i, "vector": vector(rng), "payload": {"b": batch, "pad": pad * 1000}}
               for i in range(100)]
        assert leader.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
    deadline = time.monotonic() + 30
    while leader.get("/collections/c").json()["result"]["segments_count"] == 0:
        assert time.monotonic() < deadline, "no flush"
        time.sleep(0.1)


def replica_verify(leader_url, follower_url, *extra):
    return subprocess.run([BINARY, "replica", "verify", "--leader", leader_url, "--follower", follower_url, "--timeout", "30", *extra],
                          capture_output=True, text=True, timeout=120)


def assert_verified(leader_url, follower_url, collections):
    r = replica_verify(leader_url, follower_url)
    assert r.returncode == 0, f"replica verify: {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert r.stdout.count("equal  ") == collections, r.stdout


class Writer(threading.Thread):
    """Writes to the leader until stopped: upserts and deletes of random ids."""

    def __init__(self, url, name, seed):
        super().__init__(daemon=True)
        self.url, self.name, self.rng = url, name, random.Random(seed)
        self.stopping = threading.Event()
        self.writes = 0
        self.error = None

    def run(self):
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self.stopping.is_set():
                try:
                    if self.rng.random() < 0.2:
                        ids = [self.rng.randrange(2000) for _ in range(3)]
                        r = http.post(f"/collections/{self.name}/points/delete?wait=true", json={"points": ids})
                    else:
                        pts = [{"id": self.rng.randrange(2000), "vector": vector(self.rng),
                                "payload": {"w": self.writes, "tag": self.rng.choice("abc")}} for _ in range(10)]
                        r = http.put(f"/collections/{self.name}/points?wait=true", json={"points": pts})
                    assert r.status_code == 200, r.text
                    self.writes += 1
                except Exception as e:  # noqa: BLE001 - reported by the test
                    self.error = e
                    return

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)
        assert self.error is None, f"a write to the leader failed: {self.error!r}"


@pytest.fixture()
def cluster(fresh_server, tmp_path):
    """start_leader(), start_follower(): servers on their own data directories; the follower
    reaches the leader through a LinkProxy (`proxy`)."""
    state = {}

    def start_leader(*extra):
        s = fresh_server("--memtable-mb", "1", *extra, data=str(tmp_path / "leader"))
        if "proxy" not in state:
            state["proxy"] = LinkProxy(s.port)
        else:
            state["proxy"].retarget(s.port)
        return s

    def start_follower(*extra, data=None):
        return fresh_server("--replica-of", state["proxy"].url, *extra, data=data or str(tmp_path / "follower"))

    yield state, start_leader, start_follower
    if "proxy" in state:
        state["proxy"].close()


def test_follower_copies_the_leader_serves_reads_and_refuses_writes(cluster):
    state, start_leader, start_follower = cluster
    leader_server = start_leader()
    rng = random.Random(1)
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert leader.put("/collections/docs", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        assert leader.put("/collections/docs/index", json={"field_name": "tag", "field_schema": "keyword"}).status_code == 200
        assert leader.put("/collections/other", json={"vectors": {"size": 4, "distance": "Dot"}}).status_code == 200
        for batch in range(20):
            pts = [{"id": batch * 50 + i, "vector": vector(rng), "payload": {"tag": rng.choice("abc"), "b": batch}}
                   for i in range(50)]
            assert leader.put("/collections/docs/points?wait=true", json={"points": pts}).status_code == 200
        assert leader.put("/collections/other/points?wait=true",
                          json={"points": [{"id": 1, "vector": [1, 2, 3, 4]}]}).status_code == 200
        assert leader.post("/collections/docs/points/delete?wait=true", json={"points": list(range(0, 100, 3))}).status_code == 200
        assert leader.post("/collections/docs/points/payload?wait=true",
                           json={"payload": {"seen": True}, "points": [500, 501]}).status_code == 200

        follower_server = start_follower()
        with httpx.Client(base_url=follower_server.url, timeout=30) as follower:
            status = wait_caught_up(leader, follower)
            assert status["role"] == "follower" and status["leader"] == state["proxy"].url
            assert_equal(leader, follower, ["docs", "other"])
            info = follower.get("/collections/docs").json()["result"]
            assert "tag" in info["payload_schema"], info
            assert info["points_count"] == leader.get("/collections/docs").json()["result"]["points_count"]
            # Reads, including the read-only POSTs, are served and agree with the leader's.
            q = {"query": vector(rng), "limit": 10, "filter": {"must": [{"key": "tag", "match": {"value": "a"}}]}}
            a, b = leader.post("/collections/docs/points/query", json=q), follower.post("/collections/docs/points/query", json=q)
            assert a.status_code == b.status_code == 200
            assert [p["id"] for p in a.json()["result"]["points"]] == [p["id"] for p in b.json()["result"]["points"]]
            assert follower.post("/collections/docs/points/count", json={}).json()["result"]["count"] == len(everything(leader, "docs"))
            assert follower.post("/collections/docs/points", json={"ids": [500]}).json()["result"][0]["payload"]["seen"] is True
            # Writes are refused in Qdrant's envelope, naming the leader, and change nothing.
            before = everything(follower, "docs")
            for method, path, body in [
                ("PUT", "/collections/docs/points", {"points": [{"id": 1, "vector": vector(rng)}]}),
                ("POST", "/collections/docs/points/delete", {"points": [1]}),
                ("PUT", "/collections/new", {"vectors": {"size": 4, "distance": "Dot"}}),
                ("DELETE", "/collections/docs", None),
                ("PUT", "/collections/docs/index", {"field_name": "b", "field_schema": "integer"}),
            ]:
                r = follower.request(method, path, json=body)
                assert r.status_code == 403, (method, path, r.text)
                assert "read-only follower" in r.json()["status"]["error"] and state["proxy"].url in r.json()["status"]["error"]
            assert everything(follower, "docs") == before
            # The leader's replication routes are not served by a follower.
            assert follower.get("/replication/collections").status_code == 400

            # Catalogue changes follow: a dropped collection goes, a new one comes.
            assert leader.delete("/collections/other").status_code == 200
            assert leader.put("/collections/third", json={"vectors": {"size": 4, "distance": "Euclid"}}).status_code == 200
            assert leader.put("/collections/third/points?wait=true",
                              json={"points": [{"id": 7, "vector": [0, 1, 0, 1], "payload": {"x": 1}}]}).status_code == 200
            wait_caught_up(leader, follower)
            names = sorted(c["name"] for c in follower.get("/collections").json()["result"]["collections"])
            assert names == ["docs", "third"]
            assert_equal(leader, follower, ["docs", "third"])
            assert_verified(leader_server.url, follower_server.url, 2)

            lead = leader.get("/replication").json()["result"]
            assert lead["role"] == "leader"
            slots = [f for f in lead["followers"] if f["collection"] == "docs"]
            assert slots and slots[0]["node_id"] == status["node_id"] and slots[0]["connected"] is True
            # The same in Prometheus' text, on both sides.
            assert 'hsdb_replication_lag_records{collection="docs"} 0' in follower.get("/metrics").text
            assert f'hsdb_replication_follower_connected{{collection="docs",follower="{status["node_id"]}"}} 1' \
                in leader.get("/metrics").text
        assert follower_server.stop() == 0
    assert leader_server.stop() == 0


def test_follower_ends_equal_after_sigkill_leader_restart_and_a_cut_link(cluster):
    state, start_leader, start_follower = cluster
    leader_server = start_leader()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
    follower_server = start_follower()
    proxy = state["proxy"]

    # 1. SIGKILL the follower while the leader takes writes; it restarts and catches up.
    writer = Writer(leader_server.url, "c", seed=2)
    writer.start()
    time.sleep(1.0)  # let some writes stream before the kill: the kill must land mid-stream
    follower_server.stop(signal.SIGKILL)
    time.sleep(0.5)
    follower_server = start_follower()
    time.sleep(1.0)
    writer.stop()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        wait_caught_up(leader, follower)
        assert_equal(leader, follower, ["c"])
        assert writer.writes > 0

    # 2. Cut the link silently while writes go on: the follower notices (no heartbeat),
    # reports itself disconnected and behind, and after the heal catches up.
    writer = Writer(leader_server.url, "c", seed=3)
    writer.start()
    proxy.cut()
    with httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            c = follower.get("/replication").json()["result"]["collections"][0]
            if c["state"] == "disconnected":
                break
            time.sleep(0.2)
        assert c["state"] == "disconnected", c
        applied_during_cut = c["applied_lsn"]
        time.sleep(1.0)
        c = follower.get("/replication").json()["result"]["collections"][0]
        assert c["applied_lsn"] == applied_during_cut, "nothing crosses a cut link"
    writer.stop()
    proxy.heal()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        assert durable_lsns(leader)["c"] > applied_during_cut
        wait_caught_up(leader, follower)
        assert_equal(leader, follower, ["c"])

    # 3. Restart the leader (SIGTERM, then a SIGKILL with writes in flight): the follower
    # reconnects each time and ends equal.
    assert leader_server.stop() == 0
    leader_server = start_leader()
    writer = Writer(leader_server.url, "c", seed=4)
    writer.start()
    time.sleep(1.0)
    writer.stopping.set()
    writer.join(timeout=30)
    leader_server.stop(signal.SIGKILL)
    leader_server = start_leader()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        status = wait_caught_up(leader, follower)
        assert_equal(leader, follower, ["c"])
        assert_verified(leader_server.url, follower_server.url, 1)
        assert status["collections"][0]["rejected_frames"] == 0
        assert status["collections"][0]["bootstraps"] == 0, "the follower's position stayed in the leader's log"
    assert follower_server.stop() == 0
    assert leader_server.stop() == 0


def test_follower_bootstraps_when_the_log_it_needs_is_gone_or_differs(cluster, tmp_path):
    state, start_leader, start_follower = cluster
    leader_server = start_leader()
    rng = random.Random(5)
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        fill_past_a_flush(leader, rng, "x")
    # With no follower, a restarted leader moves its chain anchor to what is flushed: the log
    # before it is no longer offered, so a new follower must bootstrap.
    assert leader_server.stop() == 0
    leader_server = start_leader()
    follower_server = start_follower()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        status = wait_caught_up(leader, follower)
        assert status["collections"][0]["bootstraps"] == 1, status
        assert_equal(leader, follower, ["c"])
        # After the bootstrap it streams: new writes arrive without another.
        pts = [{"id": 5000 + i, "vector": vector(rng)} for i in range(20)]
        assert leader.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
        status = wait_caught_up(leader, follower)
        assert status["collections"][0]["bootstraps"] == 1
        assert_equal(leader, follower, ["c"])
    assert follower_server.stop() == 0

    # A follower whose copy came from another history (here: a different leader's
    # collection of the same name) is detected as diverged and replaced, never merged.
    other_dir = str(tmp_path / "other-leader")
    assert leader_server.stop() == 0
    from conftest import Server
    other = Server(other_dir)
    try:
        with httpx.Client(base_url=other.url, timeout=30) as o:
            assert o.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
            pts = [{"id": i, "vector": vector(rng), "payload": {"other": True}} for i in range(30)]
            for _ in range(40):  # more records than the first leader's log, so LSNs overlap
                assert o.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
        state["proxy"].retarget(other.port)
        follower_server = start_follower()
        with httpx.Client(base_url=other.url, timeout=30) as o, \
                httpx.Client(base_url=follower_server.url, timeout=30) as follower:
            status = wait_caught_up(o, follower)
            assert status["collections"][0]["bootstraps"] >= 1, status
            assert_equal(o, follower, ["c"])
            assert len(everything(follower, "c")) == 30
        assert follower_server.stop() == 0
    finally:
        assert other.stop() == 0


def test_a_follower_that_holds_too_much_wal_loses_its_slot_and_bootstraps(cluster):
    state, start_leader, start_follower = cluster
    leader_server = start_leader("--replica-max-retained-mb", "1")
    rng = random.Random(6)
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        follower_server = start_follower()
        with httpx.Client(base_url=follower_server.url, timeout=30) as follower:
            wait_caught_up(leader, follower)
            state["proxy"].cut()
            # 3 MB of writes the follower cannot receive: its slot would hold them all.
            for batch in range(30):
                pts = [{"id": batch * 100 + i, "vector": vector(rng), "payload": {"pad": "y" * 1000}} for i in range(100)]
                assert leader.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
            deadline = time.monotonic() + 30  # the leader checks slots every 10 s
            while leader.get("/replication").json()["result"]["dropped_slots"] == 0:
                assert time.monotonic() < deadline, "the slot was not dropped"
                time.sleep(0.2)
            assert "hsdb_replication_dropped_slots_total 1" in leader.get("/metrics").text
            state["proxy"].heal()
            status = wait_caught_up(leader, follower)
            assert status["collections"][0]["bootstraps"] == 1, status
            assert_equal(leader, follower, ["c"])
        assert follower_server.stop() == 0
    assert leader_server.stop() == 0


def test_a_stream_holds_its_slot_before_the_first_acknowledgement(fresh_server, tmp_path):
    """A follower whose link fails right after it opened its stream, before any
    acknowledgement reached the leader: its slot still holds the log from where it asked, so
    the leader counts that log against the cap and drops the slot (the race that made the
    test above flaky when the cut came first)."""
    leader_server = fresh_server("--memtable-mb", "1", "--replica-max-retained-mb", "1", data=str(tmp_path / "leader"))
    node = "0f0e0d0c-0b0a-4908-8706-050403020100"
    rng = random.Random(8)
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        genesis = leader.get("/replication/collections/c/hash", params={"lsn": 0}).json()["result"]["hash"]
        with leader.stream("GET", "/replication/collections/c/wal",
                           params={"after": 0, "hash": genesis, "follower": node}) as stream:
            assert stream.status_code == 200
            next(stream.iter_raw())  # the stream's magic: the leader has taken the request
        for batch in range(30):
            pts = [{"id": batch * 100 + i, "vector": vector(rng), "payload": {"pad": "y" * 1000}} for i in range(100)]
            assert leader.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
            if batch == 2:  # about 330 KB so far, under the 1 MiB cap: held and counted
                (mine,) = [f for f in leader.get("/replication").json()["result"]["followers"] if f["node_id"] == node]
                assert not mine["dropped"] and mine["retained_wal_bytes"] >= 300_000, mine
                # Its lag in bytes: every record it lacks, as on disk; within the files kept.
                assert mine["durable_lsn"] is None and mine["lag_records"] >= 3, mine
                assert 300_000 <= mine["lag_bytes"] <= mine["retained_wal_bytes"], mine
                metric = f'hsdb_replication_follower_lag_bytes{{collection="c",follower="{node}"}} '
                assert any(l.startswith(metric) and int(l.split()[-1]) >= 300_000 for l in leader.get("/metrics").text.splitlines())
        deadline = time.monotonic() + 30  # the leader checks slots every 10 s
        while leader.get("/replication").json()["result"]["dropped_slots"] == 0:
            assert time.monotonic() < deadline, "the slot was not dropped: the stream did not hold it"
            time.sleep(0.2)
    assert leader_server.stop() == 0


def test_one_stream_carries_steady_writes_without_breaking(fresh_server, tmp_path):
    """Every acknowledged write makes the follower send an acknowledgement (a new connection
    each). One of those failing ends the stream; they failed at random when the leader
    answered and closed before the request's end was written (the apply-lag p99 of 2 s in
    the benchmark). Hundreds of writes, one stream, no error."""
    leader_server = fresh_server(data=str(tmp_path / "leader"))
    follower_server = fresh_server("--replica-of", leader_server.url, data=str(tmp_path / "follower"))
    rng = random.Random(11)
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        wait_caught_up(leader, follower)
        done = threading.Event()

        def watch():  # a monitor polling the follower, as the benchmark's does: it widens the window
            with httpx.Client(base_url=follower_server.url, timeout=30) as http:
                while not done.is_set():
                    http.get("/replication")

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        for i in range(300):
            pts = [{"id": i * 20 + j, "vector": vector(rng)} for j in range(20)]
            assert leader.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
        done.set()
        watcher.join(timeout=30)
        status = wait_caught_up(leader, follower)
        (c,) = status["collections"]
        assert c["streams_opened"] == 1 and c["last_error"] is None, c
    assert follower_server.stop() == 0
    assert leader_server.stop() == 0


def test_replica_verify_names_the_point_that_differs(fresh_server, tmp_path):
    """Two servers given the same writes but one payload: same LSN, same ids and versions,
    different content; then one delete in place of an upsert: different ids."""
    a, b = fresh_server(data=str(tmp_path / "a")), fresh_server(data=str(tmp_path / "b"))
    rng = random.Random(7)
    batches = [[{"id": i * 50 + j, "vector": vector(rng), "payload": {"n": j}} for j in range(50)] for i in range(6)]
    for server, changed in ((a, False), (b, True)):
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
            for i, batch in enumerate(batches):
                if changed and i == 5:
                    batch = [dict(p, payload={"n": -1}) if p["id"] == 263 else p for p in batch]
                assert http.put("/collections/c/points?wait=true", json={"points": batch}).status_code == 200
    # The kept digest covers ids and versions: equal here. The content digest reads payloads.
    r = replica_verify(a.url, b.url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "equal  c: LSN 6, 300 points" in r.stdout, r.stdout
    r = replica_verify(a.url, b.url, "--content")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "DIFFER collection 'c'" in r.stdout and "1 bucket(s) differ" in r.stdout, r.stdout
    assert "263 (differs: version 6 on the leader, 6 on the follower)" in r.stdout, r.stdout
    # One more write each: an upsert of 999 on a, a delete of 10 on b (same LSN, other points).
    with httpx.Client(base_url=a.url, timeout=30) as http:
        assert http.put("/collections/c/points?wait=true", json={"points": [{"id": 999, "vector": vector(rng)}]}).status_code == 200
    with httpx.Client(base_url=b.url, timeout=30) as http:
        assert http.post("/collections/c/points/delete?wait=true", json={"points": [10]}).status_code == 200
    r = replica_verify(a.url, b.url)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "roots differ at LSN 7 (leader 301 points, follower 299)" in r.stdout, r.stdout
    assert "2 point(s) differ, found in 5 round trips" in r.stdout, r.stdout
    assert "only on the leader: 10 (version 1), 999 (version 7)" in r.stdout, r.stdout
    # A server that cannot be asked is exit 2, not a verdict.
    r = replica_verify(a.url, "http://127.0.0.1:9")
    assert r.returncode == 2, r.stdout + r.stderr


def test_replica_verify_locates_exactly_the_differing_points(fresh_server, tmp_path):
    """Divergences of 1, 100 and 10,000 points among 20,000, at one LSN on both sides: the
    state trees are descended in 5 round trips and `--json` lists exactly those ids."""
    a, b = fresh_server(data=str(tmp_path / "a")), fresh_server(data=str(tmp_path / "b"))
    rng = random.Random(11)
    base = [[{"id": i * 2000 + j, "vector": [rng.uniform(-1, 1) for _ in range(4)]} for j in range(2000)] for i in range(10)]
    for k in (1, 100, 10_000):
        name = f"c{k}"
        for server in (a, b):
            with httpx.Client(base_url=server.url, timeout=60) as http:
                assert http.put(f"/collections/{name}", json={"vectors": {"size": 4, "distance": "Dot"}}).status_code == 200
                for batch in base:
                    assert http.put(f"/collections/{name}/points?wait=true", json={"points": batch}).status_code == 200
        ids = rng.sample(range(20_000), k)
        new = [100_000 + i for i in range(k - 2 * (k // 3))]  # only on a
        changed, deleted = ids[: k // 3], ids[k // 3: 2 * (k // 3)]  # a rewrites; b deletes
        upserts = [{"id": i, "vector": [1.0, 0.0, 0.0, 0.0]} for i in new + changed]
        with httpx.Client(base_url=a.url, timeout=60) as http:
            assert http.put(f"/collections/{name}/points?wait=true", json={"points": upserts}).status_code == 200
        with httpx.Client(base_url=b.url, timeout=60) as http:
            doomed = deleted + [999_999_999]  # one record on each side, whatever k
            assert http.post(f"/collections/{name}/points/delete?wait=true", json={"points": doomed}).status_code == 200
        r = replica_verify(a.url, b.url, "--json")
        assert r.returncode == 1, r.stdout + r.stderr
        (diff,) = [d for d in json.loads(r.stdout)["differences"] if d["collection"] == name]
        assert diff["round_trips"] == 5, diff["reason"]
        assert sorted(int(p["id"]) for p in diff["only_leader"]) == sorted(new + deleted)
        assert diff["only_follower"] == []
        assert sorted(int(c["id"]) for c in diff["changed"]) == sorted(changed)
        assert all(c["leader"] == 11 and c["follower"] < 11 for c in diff["changed"]), diff["changed"][:3]
    # The tree routes refuse what they cannot answer, in Qdrant's envelope.
    with httpx.Client(base_url=a.url, timeout=30) as http:
        base = "/replication/collections/c1/tree"
        root = http.get(base).json()["result"]
        assert http.get(f"{base}?lsn={root['lsn']}&level=0&nodes=80").json()["result"]["children"][0]["node"] == 0
        gone = http.get(f"{base}?lsn={root['lsn'] + 99}&level=0&nodes=80")
        assert gone.status_code == 409 and "is no longer held" in gone.json()["status"]["error"], gone.text
        for query, why in (("level=4&nodes=80", "`level`"), ("level=1&nodes=80", "`nodes`"), ("level=0&nodes=zz", "`nodes`")):
            r = http.get(f"{base}?lsn={root['lsn']}&{query}")
            assert r.status_code == 400 and why in r.json()["status"]["error"], (query, r.text)
        r = http.post("/replication/collections/c1/points", json={"points": [1]})
        assert r.status_code == 400 and "`ids`" in r.json()["status"]["error"], r.text


def test_a_changed_byte_in_a_shipped_frame_or_snapshot_is_rejected_and_fetched_again(cluster):
    state, start_leader, start_follower = cluster
    leader_server = start_leader()
    proxy = state["proxy"]
    rng = random.Random(8)
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        fill_past_a_flush(leader, rng, "z")
    # Restarted without followers, the leader offers only a snapshot; its download is damaged.
    assert leader_server.stop() == 0
    leader_server = start_leader()
    proxy.flip_next(1)
    follower_server = start_follower()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        status = wait_caught_up(leader, follower)
        assert proxy.flipped == 1
        assert status["collections"][0]["bootstraps"] == 2, "the damaged snapshot was refused and fetched again"
        assert_equal(leader, follower, ["c"])
        # A damaged frame of records is refused whole, and the stream resumes from before it.
        proxy.flip_next(1)
        for batch in range(5):
            pts = [{"id": 9000 + batch * 10 + i, "vector": vector(rng), "payload": {"pad": "w" * 500}} for i in range(10)]
            assert leader.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
        status = wait_caught_up(leader, follower)
        assert proxy.flipped == 2
        assert status["collections"][0]["rejected_frames"] >= 1, status
        assert status["collections"][0]["bootstraps"] == 2
        assert_equal(leader, follower, ["c"])
    assert_verified(leader_server.url, follower_server.url, 1)
    assert follower_server.stop() == 0
    assert leader_server.stop() == 0


def test_write_consistency_factor_2_acknowledges_only_what_the_follower_holds(cluster):
    """With write_consistency_factor 2 a write is answered once the follower made it durable:
    every acknowledged write is on the follower when the leader is SIGKILLed right after, and
    with the link cut a write fails with 503 after --replica-ack-timeout instead of being
    acknowledged, while a collection with factor 1 keeps taking writes."""
    state, start_leader, start_follower = cluster
    leader_server = start_leader("--replica-ack-timeout", "2")
    proxy = state["proxy"]
    rng = random.Random(5)
    spec = {"vectors": {"size": DIM, "distance": "Cosine"}}
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        r = leader.put("/collections/bad", json={**spec, "write_consistency_factor": 0})
        assert r.status_code == 422 and r.json()["status"]["error"] == \
            "Validation error in JSON body: [write_consistency_factor: value 0 invalid, must be 1 or larger]", r.text
        assert leader.put("/collections/bad", json={**spec, "write_consistency_factor": -1}).status_code == 400
        assert leader.put("/collections/bad", json={**spec, "write_consistency_factor": "2"}).status_code == 400
        assert leader.put("/collections/sync", json={**spec, "write_consistency_factor": 2}).status_code == 200
        assert leader.put("/collections/async", json=spec).status_code == 200
        assert leader.get("/collections/sync").json()["result"]["config"]["params"]["write_consistency_factor"] == 2
        assert leader.get("/collections/async").json()["result"]["config"]["params"]["write_consistency_factor"] == 1
        # No follower yet: a synchronous write cannot be acknowledged.
        started = time.monotonic()
        r = leader.put("/collections/sync/points?wait=true", json={"points": [{"id": 1000, "vector": vector(rng)}]})
        assert r.status_code == 503 and "durable on 1 of the 2 copies" in r.json()["status"]["error"], r.text
        assert 1.5 < time.monotonic() - started < 10

    follower_server = start_follower()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        wait_caught_up(leader, follower)
        acknowledged = []
        for i in range(40):
            pts = [{"id": i, "vector": vector(rng), "payload": {"i": i}}]
            r = leader.put("/collections/sync/points?wait=true", json={"points": pts})
            assert r.status_code == 200, r.text
            acknowledged.append(i)
    leader_server.stop(signal.SIGKILL)
    with httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        r = follower.post("/collections/sync/points", json={"ids": acknowledged, "with_payload": True})
        assert sorted(p["id"] for p in r.json()["result"]) == acknowledged, "an acknowledged write is not on the follower"

    leader_server = start_leader("--replica-ack-timeout", "2")
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        wait_caught_up(leader, follower)
        assert leader.put("/collections/sync/points?wait=true",
                          json={"points": [{"id": 100, "vector": vector(rng)}]}).status_code == 200
        proxy.cut()
        assert leader.put("/collections/async/points?wait=true",
                          json={"points": [{"id": 1, "vector": vector(rng)}]}).status_code == 200
        started = time.monotonic()
        r = leader.put("/collections/sync/points?wait=true", json={"points": [{"id": 101, "vector": vector(rng)}]})
        assert r.status_code == 503 and "it is not acknowledged" in r.json()["status"]["error"], r.text
        assert 1.5 < time.monotonic() - started < 10
        proxy.heal()
        wait_caught_up(leader, follower)
        assert leader.put("/collections/sync/points?wait=true",
                          json={"points": [{"id": 102, "vector": vector(rng)}]}).status_code == 200
        wait_caught_up(leader, follower)
        assert_equal(leader, follower, ["sync", "async"])
    assert follower_server.stop() == 0
    assert leader_server.stop() == 0


def wait_role(http, role, timeout=30):
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = http.get("/replication").json()["result"]
        if status["role"] == role:
            return status
        time.sleep(0.1)
    pytest.fail(f"the server did not become {role} in {timeout} s: {status}")


def test_promotion_fences_the_old_leader_which_rejoins_without_its_unreplicated_tail(cluster, fresh_server, tmp_path):
    """Failover by hand: the leader takes a write its follower never gets (the link is cut)
    and dies; the follower is promoted (epoch 2) and takes writes; the old leader returns,
    is told the new epoch and refuses writes; restarted as a follower of the new leader it
    discards its unreplicated write (logged with its LSN range) and ends equal."""
    state, start_leader, start_follower = cluster
    old = start_leader()
    proxy = state["proxy"]
    rng = random.Random(8)
    with httpx.Client(base_url=old.url, timeout=30) as a:
        assert a.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        pts = [{"id": i, "vector": vector(rng), "payload": {"i": i}} for i in range(100)]
        assert a.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
        new = start_follower()
        with httpx.Client(base_url=new.url, timeout=30) as b:
            wait_caught_up(a, b)
        proxy.cut()
        r = a.put("/collections/c/points?wait=true", json={"points": [{"id": 5000, "vector": vector(rng), "payload": {"lost": True}}]})
        assert r.status_code == 200, r.text
    old.stop(signal.SIGKILL)

    r = subprocess.run([BINARY, "replica", "promote", "--server", new.url], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "leader of epoch 2" in r.stdout, r.stdout + r.stderr
    with httpx.Client(base_url=new.url, timeout=30) as b:
        status = b.get("/replication").json()["result"]
        assert status["role"] == "leader" and status["epoch"] == 2, status
        pts = [{"id": 100 + i, "vector": vector(rng), "payload": {"i": 100 + i}} for i in range(50)]
        assert b.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200

        # The old leader comes back as it was started (a leader); the new one fences it.
        proxy.heal()
        old = start_leader()
        with httpx.Client(base_url=old.url, timeout=30) as a:
            fenced = wait_role(a, "fenced")
            assert fenced["epoch"] == 2 and fenced["leading_epoch"] == 1, fenced
            r = a.put("/collections/c/points?wait=true", json={"points": [{"id": 6000, "vector": vector(rng)}]})
            assert r.status_code == 403 and "takes no writes" in r.json()["status"]["error"], r.text
            assert a.post("/collections/c/points", json={"ids": [5000]}).json()["result"] != [], "reads are still served"
        assert old.stop() == 0
        # Fenced across restarts, too.
        old = start_leader()
        with httpx.Client(base_url=old.url, timeout=30) as a:
            assert a.get("/replication").json()["result"]["role"] == "fenced"
        assert old.stop() == 0

        # It rejoins as a follower of the new leader.
        rejoined = fresh_server("--replica-of", new.url, data=str(tmp_path / "leader"))
        with httpx.Client(base_url=rejoined.url, timeout=30) as a:
            wait_caught_up(b, a)
            assert_equal(b, a, ["c"])
            assert a.post("/collections/c/points", json={"ids": [5000]}).json()["result"] == []
            assert len(everything(a, "c")) == 150
        assert_verified(new.url, rejoined.url, 1)
        assert rejoined.stop() == 0
        with open(str(tmp_path / "leader") + ".log") as f:
            log = f.read()
        # LSN 1 is the shared batch; 2 the lost write, then the fenced runs' close markers.
        assert "LSNs 2...4 of this copy are not in the leader's history" in log, log[-3000:]
    assert new.stop() == 0


def leader_to_bootstrap_from(start_leader, rng):
    """A leader holding about 1 MB of collection `c` in a segment, restarted with no
    follower, so the log before its flush is no longer offered: a new follower bootstraps.
    Random payloads, so a snapshot lz4 cannot shrink much."""
    leader_server = start_leader()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        for batch in range(20):
            pts = [{"id": batch * 100 + i, "vector": vector(rng), "payload": {"pad": "%x" % rng.getrandbits(4000)}}
                   for i in range(100)]
            assert leader.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
        deadline = time.monotonic() + 30
        while leader.get("/collections/c").json()["result"]["segments_count"] == 0:
            assert time.monotonic() < deadline, "no flush"
            time.sleep(0.1)
    assert leader_server.stop() == 0
    return start_leader()


def test_a_follower_killed_mid_bootstrap_resumes_its_download(cluster, tmp_path):
    """SIGKILL of a follower halfway through downloading its bootstrap snapshot: restarted, it
    is offered the same snapshot, keeps every block it verified and wrote (read back and
    hashed against the DAG), fetches only the blocks it lacks, and ends equal."""
    state, start_leader, start_follower = cluster
    leader_server = leader_to_bootstrap_from(start_leader, random.Random(9))
    proxy = state["proxy"]
    proxy.throttle(512 << 10)  # 512 KiB/s: the snapshot (about 1 MB) takes seconds
    follower_dir = tmp_path / "follower"
    incoming = follower_dir / "replication" / "incoming"
    follower_server = start_follower()
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size >= (128 << 10) for p in (incoming.rglob("*.part") if incoming.exists() else [])):
        assert time.monotonic() < deadline, "no download in progress"
        time.sleep(0.05)
    follower_server.stop(signal.SIGKILL)
    # What the follower holds: the blocks it verified and wrote, in its files' parts.
    kept = sum(f.stat().st_size for f in incoming.rglob("*") if f.is_file())
    with open(str(tmp_path / "leader") + ".log") as f:
        offers = re.findall(r"snapshot \S+ of 'c' at LSN \d+ \((\d+) bytes in (\d+) files\)", f.read())
    assert len(offers) == 1, offers
    total, files = int(offers[0][0]), int(offers[0][1])
    assert files >= 3, "metadata, manifest and at least one segment"
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert kept < total, "the download finished before the kill"
        proxy.throttle(None)
        sent_before = proxy.binary_bytes
        follower_server = start_follower()
        with httpx.Client(base_url=follower_server.url, timeout=30) as follower:
            status = wait_caught_up(leader, follower)
            assert status["collections"][0]["bootstraps"] == 1, status
            assert_equal(leader, follower, ["c"])
    resent = proxy.binary_bytes - sent_before
    assert resent < total - kept + (64 << 10), f"{resent} bytes sent again for a {total}-byte snapshot of which {kept} were kept"
    with open(str(tmp_path / "leader") + ".log") as f:
        assert "offered again" in f.read()
    assert follower_server.stop() == 0
    assert leader_server.stop() == 0


def test_sparse_vectors_bootstrap_and_stream_to_a_follower(cluster):
    """A collection with named dense vectors (one a multivector) and an IDF sparse vector, some
    points without the first dense one: its flushed segments (format version 4, with lanes)
    reach a new follower by bootstrap, later writes (upsert records of version 4, a sparse and
    a named vector delete) by the stream; searches of every vector and the content digest agree."""
    _, start_leader, start_follower = cluster
    leader_server = start_leader()
    rng = random.Random(15)

    def point(i):
        idx = sorted(rng.sample(range(300), rng.randint(1, 8)))
        vectors = {"dense": vector(rng), "bm25": {"indices": idx, "values": [rng.uniform(0.1, 2) for _ in idx]}}
        if i % 7 == 5:
            del vectors["dense"]  # points without their first dense vector
        if i % 3 != 0:
            vectors["image"] = [rng.uniform(-1, 1) for _ in range(4)]
        if i % 4 == 1:
            vectors["colbert"] = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(1 + i % 3)]
        return {"id": i, "vector": vectors, "payload": {"pad": "x" * 600}}

    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        lanes = {"image": {"size": 4, "distance": "Dot"},
                 "colbert": {"size": 3, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}}}
        assert leader.put("/collections/hy", json={"vectors": {"dense": {"size": DIM, "distance": "Cosine"}, **lanes},
                                                   "sparse_vectors": {"bm25": {"modifier": "idf"}}}).status_code == 200
        for batch in range(20):
            assert leader.put("/collections/hy/points?wait=true",
                              json={"points": [point(batch * 100 + i) for i in range(100)]}).status_code == 200
        deadline = time.monotonic() + 30
        while leader.get("/collections/hy").json()["result"]["segments_count"] == 0:
            assert time.monotonic() < deadline, "no flush"
            time.sleep(0.1)
        follower_server = start_follower()
        with httpx.Client(base_url=follower_server.url, timeout=30) as follower:
            wait_caught_up(leader, follower)
            assert leader.put("/collections/hy/points?wait=true", json={"points": [point(5000 + i) for i in range(50)]}).status_code == 200
            assert leader.post("/collections/hy/points/vectors/delete?wait=true",
                               json={"points": [1, 2, 3], "vector": ["bm25", "image"]}).status_code == 200
            wait_caught_up(leader, follower)
            info = follower.get("/collections/hy").json()["result"]["config"]["params"]
            assert info["sparse_vectors"] == {"bm25": {"modifier": "idf"}} and set(info["vectors"]) == {"dense", "image", "colbert"}
            for q in ({"query": [0.3, -0.1, 0.5, 0.2], "using": "image", "limit": 10},
                      {"query": [[0.3, -0.1, 0.5], [0.1, 0.2, -0.4]], "using": "colbert", "limit": 10}):
                a, b = leader.post("/collections/hy/points/query", json=q), follower.post("/collections/hy/points/query", json=q)
                assert a.status_code == b.status_code == 200 and len(a.json()["result"]["points"]) == 10
                assert a.json()["result"]["points"] == b.json()["result"]["points"]
            for _ in range(5):
                idx = sorted(rng.sample(range(300), 4))
                q = {"query": {"indices": idx, "values": [1, 1, 1, 1]}, "using": "bm25", "limit": 20}
                a, b = leader.post("/collections/hy/points/query", json=q), follower.post("/collections/hy/points/query", json=q)
                assert a.status_code == b.status_code == 200 and a.json()["result"]["points"]
                assert [(p["id"], p["score"]) for p in a.json()["result"]["points"]] == \
                    [(p["id"], p["score"]) for p in b.json()["result"]["points"]]
            got = follower.post("/collections/hy/points", json={"ids": [1, 4], "with_vector": True}).json()["result"]
            assert set(got[0]["vector"]) == {"dense", "colbert"} and set(got[1]["vector"]) == {"dense", "bm25", "image"}
            r = replica_verify(leader_server.url, follower_server.url, "--content")
            assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
        assert follower_server.stop() == 0
    assert leader_server.stop() == 0


def test_a_follower_told_a_newer_epoch_refuses_its_old_leaders_frames(cluster):
    """A newer leader's fence notice reaches a follower still streaming from the old one:
    the old leader's next frame (a heartbeat at most 500 ms away) and catalogue are refused,
    so nothing it writes afterwards reaches the follower."""
    state, start_leader, start_follower = cluster
    leader_server = start_leader()
    follower_server = start_follower()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Dot"}}).status_code == 200
        assert leader.put("/collections/c/points?wait=true", json={"points": [{"id": 1, "vector": [1.0] * DIM}]}).status_code == 200
        wait_caught_up(leader, follower)
        r = follower.post("/replication/fence?epoch=5")
        assert r.status_code == 200 and r.json()["result"] == {"fenced": False, "epoch": 5}, r.text
        deadline = time.monotonic() + 15
        status = None
        while time.monotonic() < deadline:
            status = follower.get("/replication").json()["result"]
            if status["collections"][0]["rejected_frames"] >= 1 and "replaced" in (status["catalog_error"] or ""):
                break
            time.sleep(0.1)
        assert status["collections"][0]["rejected_frames"] >= 1, status
        assert "epoch 5 has been seen: it was replaced" in status["catalog_error"], status
        assert leader.put("/collections/c/points?wait=true", json={"points": [{"id": 2, "vector": [2.0] * DIM}]}).status_code == 200
        time.sleep(1.5)  # a frame, a heartbeat and a catalogue poll later: still not applied
        assert follower.get("/collections/c/points/2").status_code == 404


def test_a_leader_with_an_api_key_is_followed_with_it_and_refused_without(cluster, tmp_path):
    """The leader's replication routes need its API key like every other route: a follower
    given it with --leader-api-key copies the leader; one given a wrong key copies nothing and
    says why; `hsdb replica verify --api-key` proves the copy."""
    state, start_leader, start_follower = cluster
    leader_server = start_leader("--api-key", "s3cret")
    good = start_follower("--leader-api-key", "s3cret")
    bad = start_follower("--leader-api-key", "wrong", data=str(tmp_path / "bad"))
    keyed = {"api-key": "s3cret"}
    with httpx.Client(base_url=leader_server.url, timeout=30, headers=keyed) as leader, \
            httpx.Client(base_url=good.url, timeout=30) as follower, \
            httpx.Client(base_url=bad.url, timeout=30) as refused:
        assert httpx.get(f"{leader_server.url}/replication/collections").status_code == 401
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Dot"}}).status_code == 200
        assert leader.put("/collections/c/points?wait=true", json={"points": [{"id": 1, "vector": [1.0] * DIM}]}).status_code == 200
        wait_caught_up(leader, follower)
        deadline = time.monotonic() + 15
        status = refused.get("/replication").json()["result"]
        while time.monotonic() < deadline and not status["catalog_error"]:
            time.sleep(0.1)
            status = refused.get("/replication").json()["result"]
        assert "403" in (status["catalog_error"] or ""), status
        assert refused.get("/collections").json()["result"]["collections"] == []
    r = replica_verify(leader_server.url, good.url, "--api-key", "s3cret")
    assert r.returncode == 0 and "equal  c" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("damage", ["removed", "flipped"])
def test_a_follower_with_a_damaged_segment_repairs_it_from_its_leader(cluster, damage):
    """A segment of the follower's copy removed, or a byte of it flipped, while it was down:
    a lone node refuses to open such a collection; a follower sets it aside, starts, and
    fetches it again from its leader, keeping its intact segments (those it shares with the
    leader, having bootstrapped): only the damaged one crosses the link again."""
    state, start_leader, start_follower = cluster
    leader_server = start_leader()
    rng = random.Random(9)
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        fill_past_a_flush(leader, rng, "x")
        deadline = time.monotonic() + 60  # the rest flushed too (idle flush), so the copy is all segments
        while leader.get("/collections/c").json()["result"]["segments_count"] < 2 and time.monotonic() < deadline:
            fill_past_a_flush(leader, rng, "y")
    assert leader_server.stop() == 0
    leader_server = start_leader()  # with no follower: a new one bootstraps, sharing the segments
    follower_server = start_follower()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        status = wait_caught_up(leader, follower)
        assert status["collections"][0]["bootstraps"] == 1, status
    assert follower_server.stop() == 0

    segments_dir = os.path.join(follower_server.data_dir, "collections", "c", "segments")
    segments = sorted(os.path.join(segments_dir, f) for f in os.listdir(segments_dir) if f.endswith(".seg"))
    assert len(segments) >= 2, segments
    sizes = {p: os.path.getsize(p) for p in segments}
    victim = max(segments, key=sizes.get)
    if damage == "removed":
        os.remove(victim)
    else:
        with open(victim, "r+b") as f:
            f.seek(os.path.getsize(victim) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x10]))
    total = sum(sizes.values())

    follower_server = start_follower()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        status = wait_caught_up(leader, follower)
        fetched = status["collections"][0]["snapshot_bytes_fetched"]
        assert fetched >= sizes[victim], status  # the damaged segment crossed again
        assert fetched < sizes[victim] + min(s for p, s in sizes.items() if p != victim), \
            f"fetched {fetched} of {total} bytes: the intact segments were fetched again"
        assert_equal(leader, follower, ["c"])
    assert_verified(leader_server.url, follower_server.url, 1)
    log = open(follower_server.data_dir + ".log").read()
    assert "cannot be opened" in log and "is repaired" in log, log[-3000:]
    assert os.listdir(os.path.join(follower_server.data_dir, "quarantine")) == []  # the damaged copy is gone


@pytest.mark.parametrize("trigger", ["interval", "request"])
def test_a_follower_diverged_past_the_checksums_repairs_only_what_differs(cluster, trigger):
    """Ten points of a follower's copy marked dead in its manifest while it was down (a
    valid file, so it opens and streams as if nothing happened): its state tree differs from
    the leader's, anti-entropy (on its own within a second, or on POST /replication/repair)
    locates the ten points and sets them right in place; no bootstrap, and it lasts."""
    state, start_leader, start_follower = cluster
    leader_server = start_leader()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert leader.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        fill_past_a_flush(leader, random.Random(13), "x")
    assert leader_server.stop() == 0
    leader_server = start_leader()  # with no follower: a new one bootstraps, sharing the segments
    follower_server = start_follower()
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        assert wait_caught_up(leader, follower)["collections"][0]["bootstraps"] == 1
    assert follower_server.stop() == 0
    path = os.path.join(follower_server.data_dir, "collections", "c", "MANIFEST")
    m = manifest_file.read(path)
    seg = max(m["segments"], key=lambda s: s["count"])
    live = [o for o in range(seg["count"]) if o not in set(seg["dead"])]
    seg["dead"] = sorted(set(seg["dead"]) | set(live[100:110]))
    manifest_file.write(path, m)

    interval = ["--anti-entropy-interval", "1" if trigger == "interval" else "0"]
    follower_server = start_follower(*interval)
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
            httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        status = wait_caught_up(leader, follower)["collections"][0]
        assert status["bootstraps"] == 0, status
        if trigger == "request":  # (with the interval, the follower may have repaired already)
            assert status["points_repaired"] == 0, status
            r = replica_verify(leader_server.url, follower_server.url, "--json")
            assert r.returncode == 1, r.stdout + r.stderr
            (diff,) = json.loads(r.stdout)["differences"]
            assert len(diff["only_leader"]) == 10 and diff["only_follower"] == [] and diff["changed"] == [], diff
            (outcome,) = follower.post("/replication/repair").json()["result"]["collections"]
            assert outcome["outcome"] == "repaired" and outcome["replaced"] == 10 and outcome["differing"] == 10, outcome
        deadline = time.monotonic() + 30
        while status["points_repaired"] < 10:
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
            status = follower.get("/replication").json()["result"]["collections"][0]
        assert status["points_repaired"] == 10 and status["bootstraps"] == 0, status
        assert "10 set right" in status["last_tree_check"] or status["last_tree_check"].startswith("equal"), status
        assert_equal(leader, follower, ["c"])
    for extra in ((), ("--content",)):
        r = replica_verify(leader_server.url, follower_server.url, *extra)
        assert r.returncode == 0, r.stdout + r.stderr
    assert follower_server.stop() == 0
    follower_server = start_follower(*interval)  # the repair is durable
    assert_verified(leader_server.url, follower_server.url, 1)
    with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
        assert leader.post("/replication/repair").status_code == 400  # a leader has no one to repair from


def test_a_link_cut_during_a_bootstrap_resumes_the_download(cluster, tmp_path):
    """The link goes silent halfway through a bootstrap's download: the follower notices by
    itself (no byte for 5 s), and once the link is back asks only for the blocks it lacks,
    so the snapshot crosses about once, not twice."""
    state, start_leader, start_follower = cluster
    leader_server = leader_to_bootstrap_from(start_leader, random.Random(12))
    proxy = state["proxy"]
    proxy.throttle(512 << 10)
    incoming = tmp_path / "follower" / "replication" / "incoming"
    follower_server = start_follower()
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size >= (128 << 10) for p in (incoming.rglob("*.part") if incoming.exists() else [])):
        assert time.monotonic() < deadline, "no download in progress"
        time.sleep(0.05)
    proxy.cut()
    with httpx.Client(base_url=follower_server.url, timeout=30) as follower:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            status = follower.get("/replication").json()["result"]["collections"][0]
            if status["last_error"]:
                break
            time.sleep(0.2)
        assert status["last_error"], status  # noticed the silent link by itself
        proxy.throttle(None)
        proxy.heal()
        with httpx.Client(base_url=leader_server.url, timeout=30) as leader:
            status = wait_caught_up(leader, follower)
            assert_equal(leader, follower, ["c"])
    with open(str(tmp_path / "leader") + ".log") as f:
        offers = re.findall(r"snapshot \S+ of 'c' at LSN \d+ \((\d+) bytes in (\d+) files\)", f.read())
    total = int(offers[0][0])
    fetched = status["collections"][0]["snapshot_bytes_fetched"]
    # Blocks that had arrived are kept; the one in flight when the link went silent (a 256 KiB
    # leaf at most) crosses again, with the DAG's nodes.
    assert total <= fetched < total + (512 << 10), f"fetched {fetched} bytes for a {total}-byte snapshot"
    assert_verified(leader_server.url, follower_server.url, 1)
