"""Failover across real network links that the test cuts. Three nodes run in network
namespaces of their own, each joined to three bridges: `e` reaches etcd (in the test's own
namespace), `r` joins the nodes to each other (replication; the URLs they advertise), `m` is
the test's way in, never cut. Cutting a link is taking the node's port on one bridge down,
so packets vanish without an error, as when a switch fails. Needs root and iproute2."""
import os
import shutil
import subprocess
import tempfile
import time

import httpx
import pytest

from conftest import BINARY
from test_replication import assert_verified
from test_replication_netns import ip, namespaces
from test_replication_netns import teardown as netns_teardown

PREFIX = "hsdbc"
NODES = {"a": 1, "b": 2, "c": 3}
NETS = {"m": "10.82.0", "r": "10.83.0", "e": "10.84.0"}
TTL = 4
DIM = 8


def teardown():
    netns_teardown(PREFIX)


class Net:
    def __init__(self):
        teardown()
        for net, subnet in NETS.items():
            br = f"{PREFIX}{net}"
            ip("link", "add", br, "type", "bridge")
            if net != "r":  # the test and etcd sit on m and e; r is between the nodes only
                ip("addr", "add", f"{subnet}.254/24", "dev", br)
            ip("link", "set", br, "up")
        for node, last in NODES.items():
            ns = f"{PREFIX}{node}"
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
            for net, subnet in NETS.items():
                outside, inside = f"{PREFIX}{node}{net}o", f"{PREFIX}{node}{net}i"
                ip("link", "add", outside, "type", "veth", "peer", "name", inside)
                ip("link", "set", inside, "netns", ns)
                ip("link", "set", outside, "master", f"{PREFIX}{net}")
                ip("link", "set", outside, "up")
                ip("-n", ns, "addr", "add", f"{subnet}.{last}/24", "dev", inside)
                ip("-n", ns, "link", "set", inside, "up")

    def cut(self, node, net):
        ip("link", "set", f"{PREFIX}{node}{net}o", "down")

    def heal(self, node, net):
        ip("link", "set", f"{PREFIX}{node}{net}o", "up")


class EtcdOnBridge:
    """One etcd member listening on the e bridge's host address."""

    def __init__(self, directory):
        from cluster_harness import free_port
        self.port, peer = free_port(), free_port()
        self.url = f"http://{NETS['e']}.254:{self.port}"
        self.log = open(os.path.join(directory, "etcd.log"), "w")
        self.proc = subprocess.Popen(
            ["etcd", "--data-dir", os.path.join(directory, "etcd"), "--name", "e",
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"e=http://127.0.0.1:{peer}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail("etcd did not start on the bridge")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


class NetNode:
    def __init__(self, name, directory, etcd_url):
        last = NODES[name]
        self.name, self.data_dir = name, os.path.join(directory, name)
        self.url = f"http://{NETS['m']}.{last}:6333"
        self.advertise = f"http://{NETS['r']}.{last}:6333"
        self.log = open(self.data_dir + ".log", "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", f"{PREFIX}{name}", BINARY, "serve", "--data", self.data_dir, "--host", "0.0.0.0",
             "--port", "6333", "--no-grpc", "--etcd", etcd_url, "--node-id", name, "--advertise", self.advertise,
             "--lease-ttl", str(TTL), "--replica-ack-timeout", "2"],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("hsdb listening on "), f"{name} did not start: {line!r}"

    def view(self):
        try:
            return httpx.get(self.url + "/cluster", timeout=2).json()["result"]["hsdb"]
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    def put(self, collection, pid):
        body = {"points": [{"id": pid, "vector": [float(pid % 5 + 1)] * DIM}]}
        try:
            return httpx.put(f"{self.url}/collections/{collection}/points?wait=true", json=body, timeout=10).status_code
        except httpx.HTTPError:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture()
def net():
    yield from namespaces(Net, teardown)


@pytest.fixture()
def nodes_and_etcd(net):
    directory = tempfile.mkdtemp(prefix="hsdb-cluster-netns-")
    etcd = EtcdOnBridge(directory)
    started = {name: NetNode(name, directory, etcd.url) for name in NODES}
    yield started, etcd
    for node in started.values():
        node.stop()
    etcd.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture()
def nodes(nodes_and_etcd):
    return nodes_and_etcd[0]


def leader_of(nodes, exclude=(), above=0, timeout=30):
    deadline = time.monotonic() + timeout
    views = {}
    while time.monotonic() < deadline:
        views = {n: nodes[n].view() for n in nodes if n not in exclude}
        names = {(v["leader"]["name"], v["leader"]["epoch"]) if v and v.get("leader") else None for v in views.values()}
        if len(names) == 1 and None not in names:
            (name, epoch), = names
            if epoch > above and views[name]["role"] == "leader" and views[name]["lease_held"]:
                return nodes[name], epoch
        time.sleep(0.1)
    pytest.fail(f"no single leader: {views}")


def setup_collection(leader):
    spec = {"vectors": {"size": DIM, "distance": "Dot"}, "write_consistency_factor": 2}
    assert httpx.put(f"{leader.url}/collections/m", json=spec, timeout=30).status_code == 200
    deadline = time.monotonic() + 30
    while leader.put("m", 1) != 200:
        assert time.monotonic() < deadline, "no write reached a follower"
        time.sleep(0.2)


def ids(node):
    r = httpx.post(f"{node.url}/collections/m/points/scroll", json={"limit": 100000}, timeout=30)
    return {p["id"] for p in r.json()["result"]["points"]}


def test_leader_cut_from_etcd_only_is_replaced(net, nodes):
    leader, epoch = leader_of(nodes)
    setup_collection(leader)
    acked, pid = {1}, 2
    net.cut(leader.name, "e")
    cut_at = time.monotonic()
    # The old leader stops acknowledging at its lease deadline (no word from anyone needed);
    # the others elect a new leader once etcd expires its lease.
    refused_at = None
    while refused_at is None and time.monotonic() - cut_at < TTL * 3:
        code = leader.put("m", pid)
        if code == 200:
            acked.add(pid)
        else:
            refused_at = time.monotonic()
        pid += 1
    assert refused_at is not None and refused_at - cut_at < TTL + 1, "the cut-off leader acknowledged past its TTL"
    new, new_epoch = leader_of(nodes, exclude=(leader.name,), above=epoch, timeout=TTL * 5)
    assert new is not leader
    assert new.put("m", pid) == 200
    acked.add(pid)
    # Cut off from etcd but not from clients: the old leader still refuses.
    assert leader.put("m", pid + 1) != 200
    net.heal(leader.name, "e")
    assert leader_of(nodes, above=epoch)[0] is new
    assert acked <= ids(new)
    for node in nodes.values():
        if node is not new:
            assert_verified(new.url, node.url, 1)


def test_leader_cut_from_its_followers_fails_writes_and_loses_none(net, nodes):
    leader, epoch = leader_of(nodes)
    setup_collection(leader)
    net.cut(leader.name, "r")
    # Still in etcd, so still the leader; with write_consistency_factor 2 no write can be
    # acknowledged: each fails (503) after the ack timeout rather than being lost.
    codes = [leader.put("m", 100 + i) for i in range(3)]
    assert codes == [503, 503, 503], codes
    # Reads are still answered, but the leader does not vouch for them: they may show those
    # unacknowledged writes, which a failover could lose.
    r = httpx.get(f"{leader.url}/collections/m/points/100", timeout=10)
    assert r.status_code == 200 and "hsdb-leader-epoch" not in r.headers, (r.status_code, r.headers)
    assert leader_of(nodes)[0] is leader
    net.heal(leader.name, "r")
    deadline = time.monotonic() + 30
    while leader.put("m", 200) != 200:
        assert time.monotonic() < deadline, "writes did not resume after the heal"
        time.sleep(0.2)
    assert "hsdb-leader-epoch" in httpx.get(f"{leader.url}/collections/m/points/100", timeout=10).headers
    assert leader_of(nodes)[0] is leader
    for node in nodes.values():
        if node is not leader:
            assert_verified(leader.url, node.url, 1)


def test_a_shard_leader_cut_from_etcd_is_replaced_and_writes_through_other_nodes_go_on(net, nodes_and_etcd):
    """On a sharded collection (3 shards of 2 copies, write_consistency_factor 2), the node
    leading shard 0 is cut from etcd only. Its shards' other copies elect new leaders; writes
    sent to another node pause (the routing node waits out the election) and go on; after
    the heal every acknowledged write is there."""
    import json
    from etcd_harness import EtcdClient
    nodes, etcd = nodes_and_etcd
    leader_of(nodes)
    router = nodes["a"]
    spec = {"vectors": {"size": DIM, "distance": "Dot"}, "write_consistency_factor": 2, "shard_number": 3, "replication_factor": 2}
    assert httpx.put(f"{router.url}/collections/s", json=spec, timeout=60).status_code == 200
    with EtcdClient(etcd.url) as e:
        uid = json.loads(e.get("/hsdb/hsdb/collections/s"))["uid"]

        def shard_leader(shard):
            value = e.get(f"/hsdb/hsdb/shards/{uid}/{shard}/leader")
            return json.loads(value)["name"] if value else None
        deadline = time.monotonic() + 30
        while shard_leader(0) is None:
            assert time.monotonic() < deadline, "shard 0 elected no leader"
            time.sleep(0.1)
        cut = nodes[shard_leader(0)]
        router = next(n for n in nodes.values() if n is not cut)
        acked, pid = set(), 1
        while len(acked) < 20:
            if router.put("s", pid) == 200:
                acked.add(pid)
            pid += 1
        net.cut(cut.name, "e")
        cut_at = time.monotonic()
        while time.monotonic() - cut_at < TTL * 4:
            if router.put("s", pid) == 200:
                acked.add(pid)
            pid += 1
        assert shard_leader(0) not in (None, cut.name), "shard 0 kept its cut-off leader"
        # Writes reach every shard again: ids of all three shards acknowledged after the cut.
        late = {p for p in acked if p >= pid - 20}
        assert late, "no write was acknowledged after the failover"
        net.heal(cut.name, "e")
        r = httpx.post(f"{router.url}/collections/s/points/scroll", json={"limit": 100000}, timeout=30)
        held = {p["id"] for p in r.json()["result"]["points"]}
        assert acked <= held, sorted(acked - held)[:20]
