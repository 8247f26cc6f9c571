"""Automatic failover on etcd with real processes: a real etcd (a child process) and three
`hsdb serve --etcd` nodes on loopback. The leader is killed (SIGKILL), stalled past its lease
(SIGSTOP, then SIGCONT), handed over on purpose (switchover); etcd loses its quorum. Each
time: one leader, a new epoch, no acknowledged write lost where the collection asks for a
majority, and every copy proven equal by `hsdb replica verify`."""
import subprocess
import time

import httpx
import pytest

from cluster_harness import LEASE_TTL, Cluster, ClusterWriter, all_ids, wait_for
from conftest import BINARY
from etcd_harness import etcd, etcd3  # noqa: F401  (fixtures)
from test_replication import assert_verified

DIM = 8
SPEC = {"vectors": {"size": DIM, "distance": "Dot"}}
MAJORITY = {**SPEC, "write_consistency_factor": 2}


@pytest.fixture()
def cluster(etcd, tmp_path):  # noqa: F811
    c = Cluster(etcd, tmp_path).start()
    yield c
    c.close()


def create(leader, name, spec):
    r = httpx.put(f"{leader.url}/collections/{name}", json=spec, timeout=30)
    assert r.status_code == 200, r.text


def verify_all(cluster, leader, collections):
    cluster.wait_followers(leader)
    for node in cluster.live():
        if node is not leader:
            assert_verified(leader.url, node.url, collections)


def test_three_nodes_elect_one_leader_and_follow_it(cluster):
    leader, epoch = cluster.leader()
    create(leader, "c", SPEC)
    follower = next(n for n in cluster.live() if n is not leader)
    # A write sent to a follower is redirected to the leader, method and body kept (307).
    body = {"points": [{"id": 1, "vector": [1.0] * DIM, "payload": {"k": "v"}}]}
    r = httpx.put(f"{follower.url}/collections/c/points?wait=true", json=body)
    assert r.status_code == 307, r.text
    assert r.headers["location"] == f"{leader.url}/collections/c/points?wait=true"
    assert f"send writes to {leader.url}" in r.json()["status"]["error"]
    r = httpx.put(r.headers["location"], json=body)
    assert r.status_code == 200, r.text
    verify_all(cluster, leader, 1)
    # One command proves every member equal to the leader, given any member.
    r = subprocess.run([BINARY, "replica", "verify", "--cluster", follower.url], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.count("equal  c:") == 2, r.stdout + r.stderr
    assert f"against the leader {leader.url}" in r.stdout, r.stdout
    # Qdrant's /cluster shape, the same leader seen from every member.
    for node in cluster.live():
        status = httpx.get(f"{node.url}/cluster").json()["result"]
        assert status["status"] == "enabled"
        assert len(status["peers"]) == 3
        assert status["raft_info"]["term"] == epoch
        assert status["hsdb"]["leader"]["name"] == leader.name
        assert status["raft_info"]["role"] == ("Leader" if node is leader else "Follower")
    # Failover by hand is refused in a cluster: etcd decides. So are Qdrant's consensus
    # operations: membership is each member's lease.
    r = httpx.post(f"{follower.url}/replication/promote")
    assert r.status_code == 409 and "switchover" in r.text, r.text
    r = httpx.delete(f"{leader.url}/cluster/peer/1")
    assert r.status_code == 400 and "keeps its membership in etcd" in r.text, r.text


def test_a_standalone_server_says_so_as_qdrant_does(http):
    assert http.get("/cluster").json()["result"] == {"status": "disabled"}
    for method, path in [("POST", "/cluster/recover"), ("DELETE", "/cluster/peer/7")]:
        r = http.request(method, path)
        assert r.status_code == 405 and "standalone mode" in r.json()["status"]["error"], r.text
    r = http.post("/cluster/switchover")
    assert r.status_code == 400 and "not in a cluster" in r.text, r.text


def test_killed_leader_is_replaced_and_no_acknowledged_write_is_lost(cluster):
    leader, epoch = cluster.leader()
    create(leader, "m", MAJORITY)
    cluster.wait_followers(leader)
    writer = ClusterWriter(cluster, "m", DIM)
    writer.start()
    wait_for(lambda: len(writer.acked) >= 50, 30, "writes before the kill")
    killed_at = time.monotonic()
    leader.kill()
    new, new_epoch = cluster.leader(above_epoch=epoch, timeout=LEASE_TTL * 5)
    first_after = wait_for(lambda: next((t for t in writer.ack_times if t > killed_at), None), LEASE_TTL * 5,
                           "an acknowledged write on the new leader")
    assert new is not leader and new_epoch > epoch
    assert first_after - killed_at < LEASE_TTL + 4, f"failover took {first_after - killed_at:.1f} s"
    count = len(writer.acked)
    wait_for(lambda: len(writer.acked) >= count + 50, 30, "writes after the failover")
    # The killed node returns as a follower of the new leader; its unreplicated tail, if any,
    # is found by the running hash and discarded.
    leader.start()
    writer.stop()
    assert writer.error is None, writer.error
    present = all_ids(new.url, "m")
    lost = set(writer.acked) - present
    assert not lost, f"{len(lost)} acknowledged writes lost: {sorted(lost)[:10]}"
    assert present <= set(writer.acked) | set(writer.unknown)
    assert cluster.leader()[0] is new
    verify_all(cluster, new, 1)


def test_stalled_leader_is_replaced_and_refuses_writes_when_it_resumes(cluster):
    leader, epoch = cluster.leader()
    create(leader, "c", SPEC)
    cluster.wait_followers(leader)
    leader.pause()
    new, new_epoch = cluster.leader(above_epoch=epoch, exclude=(leader.name,), timeout=LEASE_TTL * 5)
    r = httpx.put(f"{new.url}/collections/c/points?wait=true", json={"points": [{"id": 2, "vector": [2.0] * DIM}]})
    assert r.status_code == 200, r.text
    leader.resume()
    # At once, before it has heard from anyone: its lease deadline has passed.
    r = httpx.put(f"{leader.url}/collections/c/points?wait=true", json={"points": [{"id": 3, "vector": [3.0] * DIM}]})
    assert r.status_code in (503, 307), r.text
    assert cluster.leader()[0] is new
    r = httpx.put(f"{leader.url}/collections/c/points?wait=true", json={"points": [{"id": 3, "vector": [3.0] * DIM}]})
    assert r.status_code == 307 and r.headers["location"].startswith(new.url), r.text
    assert 3 not in all_ids(new.url, "c")
    status = httpx.get(f"{leader.url}/replication").json()["result"]
    assert status["role"] == "follower" and status["epoch"] == new_epoch
    verify_all(cluster, new, 1)


def test_switchover_hands_over_with_no_write_lost(cluster, tmp_path):
    leader, epoch = cluster.leader()
    create(leader, "m", MAJORITY)
    cluster.wait_followers(leader)
    writer = ClusterWriter(cluster, "m", DIM)
    writer.start()
    wait_for(lambda: len(writer.acked) >= 50, 30, "writes before the switchover")
    target = next(n for n in cluster.live() if n is not leader)
    r = subprocess.run([BINARY, "replica", "switchover", "--server", target.url, "--to", target.name],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{target.name} leads epoch "), r.stdout
    new, new_epoch = cluster.leader(above_epoch=epoch)
    assert new is target
    count = len(writer.acked)
    wait_for(lambda: len(writer.acked) >= count + 20, 30, "writes after the switchover")
    writer.stop()
    assert writer.error is None, writer.error
    present = all_ids(new.url, "m")
    assert set(writer.acked) <= present
    verify_all(cluster, new, 1)
    # A name that is no member is refused, and nothing changes.
    r = httpx.post(f"{new.url}/cluster/switchover?to=nobody")
    assert r.status_code == 409 and "'nobody' is not a live member" in r.text, r.text
    assert cluster.leader()[0] is new


def test_etcd_quorum_lost_means_no_failover_and_no_acknowledged_write(etcd3, tmp_path):  # noqa: F811
    """Without etcd's quorum no lease can be renewed or granted: the leader stops
    acknowledging writes at its deadline, and no node is elected."""
    c = Cluster(etcd3, tmp_path).start()
    try:
        leader, epoch = c.leader()
        create(leader, "c", SPEC)
        etcd3.stop_member(1)
        etcd3.stop_member(2)
        # The leader cannot renew its lease: within the TTL it stops acknowledging writes, and
        # no one else can be elected (etcd takes no writes without a quorum).
        deadline = time.monotonic() + LEASE_TTL * 3
        while time.monotonic() < deadline:
            r = httpx.put(f"{leader.url}/collections/c/points?wait=true", json={"points": [{"id": 1, "vector": [1.0] * DIM}]})
            if r.status_code == 503:
                break
            time.sleep(0.1)
        assert r.status_code == 503, r.text
        for node in c.live():
            view = node.cluster()
            assert view["role"] != "leader" or not view["lease_held"], view
        etcd3.start_member(1)
        # etcd extends leases across its own outage (it never expired this one): the leader
        # may lead on in its epoch, or the election runs again; either way, one leader.
        new, new_epoch = c.leader(timeout=60)
        assert new_epoch >= epoch
        r = httpx.put(f"{new.url}/collections/c/points?wait=true", json={"points": [{"id": 2, "vector": [2.0] * DIM}]})
        assert r.status_code == 200, r.text
        verify_all(c, new, 1)
    finally:
        c.close()


def test_a_follower_killed_during_the_election_does_not_stop_it(cluster):
    leader, epoch = cluster.leader()
    create(leader, "c", SPEC)
    cluster.wait_followers(leader)
    others = [n for n in cluster.live() if n is not leader]
    # The leader dies, and a follower with it, mid-election: the last node must lead alone
    # once the dead ones' leases lapse.
    leader.kill()
    time.sleep(LEASE_TTL * 0.5)
    others[0].kill()
    new, new_epoch = cluster.leader(above_epoch=epoch, timeout=LEASE_TTL * 6)
    assert new is others[1]
    r = httpx.put(f"{new.url}/collections/c/points?wait=true", json={"points": [{"id": 5, "vector": [5.0] * DIM}]})
    assert r.status_code == 200, r.text
    leader.start()
    others[0].start()
    assert cluster.leader()[0] is new
    verify_all(cluster, new, 1)
