"""Replication across a real network link that the test cuts: the leader and the follower
run in network namespaces of their own, joined by a bridge; cutting is taking the leader's
port on that bridge down, so packets are silently dropped (no RST, no error), as when a
switch or a cable fails. The test reaches both servers over a second, management bridge
that stays up. Needs root and `ip` (iproute2); skipped with the reason otherwise."""
import os
import shutil
import subprocess
import time

import httpx
import pytest

from conftest import BINARY
from test_replication import DIM, Writer, assert_equal, assert_verified, wait_caught_up

PREFIX = "hsdbt"  # every namespace, bridge and link this test makes starts with it


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def teardown(prefix=PREFIX):
    """Deletes every namespace and link whose name starts with `prefix`."""
    for ns in ip("netns", "list", check=False).stdout.split():
        if ns.startswith(prefix):
            ip("netns", "del", ns, check=False)
    for line in ip("-o", "link", "show", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(prefix):
            ip("link", "del", name, check=False)


class Net:
    """Two nodes, L (leader) and F (follower), each with a management address on 10.78.0.0/24
    (reachable from here) and a replication address on 10.79.0.0/24 (between them only)."""
    def __init__(self):
        teardown()
        for br, addr in [(f"{PREFIX}m", "10.78.0.254/24"), (f"{PREFIX}r", None)]:
            ip("link", "add", br, "type", "bridge")
            if addr:
                ip("addr", "add", addr, "dev", br)
            ip("link", "set", br, "up")
        for node, last in [("L", 1), ("F", 2)]:
            ns = f"{PREFIX}{node}"
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
            for net, br in [("m", f"{PREFIX}m"), ("r", f"{PREFIX}r")]:
                outside, inside = f"{PREFIX}{node}{net}o", f"{PREFIX}{node}{net}i"
                ip("link", "add", outside, "type", "veth", "peer", "name", inside)
                ip("link", "set", inside, "netns", ns)
                ip("link", "set", outside, "master", br)
                ip("link", "set", outside, "up")
                subnet = "10.78.0" if net == "m" else "10.79.0"
                ip("-n", ns, "addr", "add", f"{subnet}.{last}/24", "dev", inside)
                ip("-n", ns, "link", "set", inside, "up")

    def cut(self):
        ip("link", "set", f"{PREFIX}Lro", "down")

    def heal(self):
        ip("link", "set", f"{PREFIX}Lro", "up")


class NetServer:
    """`hsdb serve` inside a node's namespace on port 6333 of all its addresses."""
    def __init__(self, node, data_dir, *extra):
        self.data_dir = data_dir
        self.log = open(data_dir + ".log", "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", f"{PREFIX}{node}", BINARY, "serve", "--data", data_dir, "--host", "0.0.0.0",
             "--port", "6333", "--no-grpc", *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("hsdb listening on "):
            self.proc.kill()
            raise RuntimeError(f"hsdb serve did not start in {node}: {line!r}; log in {data_dir}.log")
        last = 1 if node == "L" else 2
        self.url = f"http://10.78.0.{last}:6333"
        self.replication_url = f"http://10.79.0.{last}:6333"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        code = self.proc.wait(timeout=30)
        self.log.close()
        return code


def namespaces(make, clean):
    """A fixture's body: `make()`'s network (skipped, saying why, without root, iproute2 or
    the right to make namespaces), then `clean()`."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("ip") is None:
        pytest.skip("`ip` (iproute2) is not installed")
    try:
        n = make()
    except subprocess.CalledProcessError as e:
        clean()
        pytest.skip(f"cannot make network namespaces here: {e.stderr.strip()}")
    yield n
    clean()


@pytest.fixture()
def net():
    yield from namespaces(Net, teardown)


def test_follower_survives_a_silently_cut_network_link(net, tmp_path):
    leader_server = NetServer("L", str(tmp_path / "leader"), "--memtable-mb", "1", "--replica-ack-timeout", "3")
    follower_server = NetServer("F", str(tmp_path / "follower"), "--replica-of", leader_server.replication_url)
    try:
        with httpx.Client(base_url=leader_server.url, timeout=30) as leader, \
                httpx.Client(base_url=follower_server.url, timeout=30) as follower:
            spec = {"vectors": {"size": DIM, "distance": "Cosine"}}
            assert leader.put("/collections/c", json=spec).status_code == 200
            assert leader.put("/collections/sync", json={**spec, "write_consistency_factor": 2}).status_code == 200
            wait_caught_up(leader, follower)
            writer = Writer(leader_server.url, "c", seed=11)
            writer.start()
            time.sleep(1)  # the cut lands mid-stream
            before = writer.writes

            net.cut()
            # The follower notices the dead link by itself (no byte for 5 s), not by an error.
            deadline = time.monotonic() + 30
            state = None
            while time.monotonic() < deadline:
                state = {c["name"]: c["state"] for c in follower.get("/replication").json()["result"]["collections"]}
                if state.get("c") == "disconnected":
                    break
                time.sleep(0.2)
            assert state.get("c") == "disconnected", state
            r = leader.put("/collections/sync/points?wait=true", json={"points": [{"id": 1, "vector": [0.5] * DIM}]})
            assert r.status_code == 503, r.text
            time.sleep(1)  # writes keep landing on the leader while the link is down
            net.heal()

            writer.stop()
            assert writer.writes > before
            wait_caught_up(leader, follower)
            assert_equal(leader, follower, ["c", "sync"])
        assert_verified(leader_server.url, follower_server.url, 2)
    finally:
        assert follower_server.stop() == 0
        assert leader_server.stop() == 0
