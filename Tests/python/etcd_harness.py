"""Real etcd members as child processes, for the tests of cluster mode (`hsdb serve --etcd`).

The failover is only as good as what etcd does under faults, so the tests run the real
binary (etcd 3.4, /usr/bin/etcd or $ETCD_BINARY) rather than a fake: `Etcd().start(3)`
starts three members on free loopback ports, each over a fresh temporary directory, and the
test stops, restarts and freezes members (`stop_member`, `start_member`, `pause_member`,
`resume_member`) to take quorum away and give it back.

Each member's directory holds its data (`data/`) and its output (`etcd.log`, appended on a
restart); a member that does not start or become healthy fails the test with the log's tail.

`EtcdClient` is a small client of etcd's v3 HTTP/JSON gateway for a test's own reads and
writes (what the servers put under their prefix, a key a test plants): keys and values are
base64 in the JSON, int64 fields come back as strings, and fields at their zero value (an
empty `kvs`, `count` 0) are left out of the answers.

The fixtures `etcd` (one member) and `etcd3` (three) live here; a test file imports them:
`from etcd_harness import etcd, etcd3  # noqa: F401 (fixtures)`.
"""
import base64
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import httpx
import pytest

ETCD_BINARY = os.environ.get("ETCD_BINARY", shutil.which("etcd") or "/usr/bin/etcd")
START_SECONDS = 30
LOG_TAIL_LINES = 40


class EtcdError(Exception):
    """A non-200 answer of the gateway: `status` and etcd's `message` (e.g. "etcdserver:
    request timed out"). Timeouts and refused connections stay httpx's exceptions."""

    def __init__(self, status, message, body):
        super().__init__(f"etcd answered {status}: {message}")
        self.status, self.message, self.body = status, message, body


def _b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def _prefix_end(prefix):
    """The range_end that makes [prefix, end) every key starting with prefix (etcd's
    clientv3.GetPrefixRangeEnd): the last byte below 0xff incremented, the rest dropped; an
    empty prefix or one of all 0xff bytes means "to the end" (a single zero byte)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


class EtcdClient:
    """Reads and writes through one member's v3 JSON gateway. Keys and values are bytes or
    str (str is UTF-8); what is read comes back as bytes. Reads are linearizable (etcd's
    default), so on a member cut from quorum they time out, as writes do."""

    def __init__(self, url, timeout=5.0):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=timeout)

    def _call(self, path, body):
        r = self.http.post(path, json=body)
        if r.status_code != 200:
            try:
                message = r.json().get("message", r.text)
            except ValueError:
                message = r.text
            raise EtcdError(r.status_code, message, r.text)
        return r.json()

    def get(self, key):
        """The value of key, or None when there is none."""
        kvs = self._call("/v3/kv/range", {"key": _b64(key)}).get("kvs", [])
        return base64.b64decode(kvs[0].get("value", "")) if kvs else None

    def get_prefix(self, prefix):
        """Every key starting with prefix, with its value."""
        prefix = prefix.encode() if isinstance(prefix, str) else bytes(prefix)
        body = {"key": _b64(prefix or b"\0"), "range_end": _b64(_prefix_end(prefix))}
        kvs = self._call("/v3/kv/range", body).get("kvs", [])
        return {base64.b64decode(kv["key"]): base64.b64decode(kv.get("value", "")) for kv in kvs}

    def put(self, key, value):
        """Sets key to value; returns the store's revision after the write."""
        answer = self._call("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})
        return int(answer["header"]["revision"])

    def delete(self, key):
        """Deletes key; returns how many keys went (0 or 1)."""
        return int(self._call("/v3/kv/deleterange", {"key": _b64(key)}).get("deleted", "0"))

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _free_ports(n):
    """n distinct free loopback ports: bound to port 0 together (so the kernel gives n different
    ones), then released for etcd to bind. Another process may take one meanwhile; `start`
    retries when a member then fails to bind."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class _Member:
    def __init__(self, name, client_port, peer_port):
        self.name, self.client_port, self.peer_port = name, client_port, peer_port
        self.dir = tempfile.mkdtemp(prefix=f"hsdb-etcd-{name}-")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "etcd.log")
        self.client_url = f"http://127.0.0.1:{client_port}"
        self.peer_url = f"http://127.0.0.1:{peer_port}"
        self.proc = None
        self.log = None
        self.paused = False

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-LOG_TAIL_LINES:])
        except OSError as e:
            return f"(no log: {e})"


class Etcd:
    """A cluster of 1 or 3 etcd members, children of the test process.

    `heartbeat_ms`/`election_ms` are etcd's raft timings (its defaults, 100 and 1000): a test
    of how fast the servers notice a lost leader may shorten them."""

    def __init__(self, heartbeat_ms=100, election_ms=1000):
        self.heartbeat_ms, self.election_ms = heartbeat_ms, election_ms
        self.members = []
        self.token = None
        self.clients = []

    # -- the cluster --------------------------------------------------------------------------

    def start(self, members=1, timeout=START_SECONDS):
        """Starts the members (fresh data, a cluster token of this run's own) and waits until
        every one reports itself healthy. A port taken between choosing and binding it is
        retried with new ports, twice."""
        assert members in (1, 3), "a cluster of 1 or 3 members"
        assert not self.members, "already started"
        for attempt in range(3):
            ports = _free_ports(2 * members)
            self.members = [_Member(f"etcd{i}", ports[2 * i], ports[2 * i + 1]) for i in range(members)]
            self.token = f"hsdb-test-{uuid.uuid4().hex[:12]}"
            for i in range(members):
                self._spawn(i, "new")
            if attempt < 2 and self._lost_a_port_race():
                self._kill_all()
                continue
            for i in range(members):
                self.wait_healthy(i, timeout)
            return self

    def _spawn(self, i, cluster_state):
        m = self.members[i]
        initial_cluster = ",".join(f"{p.name}={p.peer_url}" for p in self.members)
        m.log = open(m.log_path, "a")
        m.log.write(f"--- etcd_harness: starting {m.name} ({cluster_state}) ---\n")
        m.log.flush()
        m.proc = subprocess.Popen(
            [ETCD_BINARY, "--name", m.name, "--data-dir", m.data_dir,
             "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
             "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
             "--initial-cluster", initial_cluster, "--initial-cluster-state", cluster_state,
             "--initial-cluster-token", self.token,
             "--heartbeat-interval", str(self.heartbeat_ms), "--election-timeout", str(self.election_ms)],
            stdin=subprocess.DEVNULL, stdout=m.log, stderr=subprocess.STDOUT)
        m.paused = False

    def _lost_a_port_race(self):
        """True when a member exited at once because its port was taken. Waits up to 2 s for
        every member to answer GET /version (which etcd serves once the member is ready) or
        for one to exit so."""
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            for m in self.members:
                if m.proc.poll() is not None and "address already in use" in m.log_tail():
                    return True
            if all(self._answers(m) for m in self.members):
                return False  # every member bound its ports
            time.sleep(0.05)
        return False

    @staticmethod
    def _answers(m):
        try:
            return httpx.get(f"{m.client_url}/version", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def health(self, i):
        """Member i's GET /health: True when it answers {"health":"true"} (it has a leader
        and a quorum read through raft succeeds), False on any other answer or none."""
        try:
            r = httpx.get(f"{self.members[i].client_url}/health", timeout=2)
            return r.status_code == 200 and r.json().get("health") == "true"
        except (httpx.HTTPError, ValueError):
            return False

    def wait_healthy(self, i, timeout=START_SECONDS):
        """Polls member i's /health until healthy; fails the test with its log's tail."""
        m = self.members[i]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if m.proc.poll() is not None:
                code = m.proc.returncode
                how = f"was killed by {signal.Signals(-code).name} (not from the harness)" if code < 0 else f"exited with {code}"
                pytest.fail(f"etcd member {m.name} {how}; log {m.log_path}:\n{m.log_tail()}")
            if self.health(i):
                return
            time.sleep(0.05)
        pytest.fail(f"etcd member {m.name} at {m.client_url} not healthy in {timeout} s; log {m.log_path}:\n{m.log_tail()}")

    def leader(self):
        """The index of the member that is leader by its own status (POST
        /v3/maintenance/status: its member_id is the leader it reports), the highest raft term
        winning; None when none is. Paused and stopped members are not asked."""
        best = None
        for i, m in enumerate(self.members):
            if m.paused or m.proc is None or m.proc.poll() is not None:
                continue
            try:
                status = httpx.post(f"{m.client_url}/v3/maintenance/status", json={}, timeout=1).json()
            except (httpx.HTTPError, ValueError):
                continue
            term = int(status.get("raftTerm", "0"))
            if status.get("leader") == status["header"]["member_id"] and (best is None or term > best[0]):
                best = (term, i)
        return None if best is None else best[1]

    @property
    def client_urls(self):
        return [m.client_url for m in self.members]

    @property
    def url(self):
        return self.members[0].client_url

    @property
    def endpoints_arg(self):
        """The value of `hsdb serve --etcd`: every member's client URL, comma-separated."""
        return ",".join(self.client_urls)

    def client(self, i=0, timeout=5.0):
        """An EtcdClient on member i, closed with the cluster."""
        c = EtcdClient(self.members[i].client_url, timeout=timeout)
        self.clients.append(c)
        return c

    # -- faults -------------------------------------------------------------------------------

    def stop_member(self, i, kill=False, timeout=10):
        """Stops member i: SIGTERM (a leader hands leadership over first), or SIGKILL when
        `kill`. Its data stays for `start_member`."""
        m = self.members[i]
        if m.proc is None or m.proc.poll() is not None:
            return
        if m.paused:
            m.proc.send_signal(signal.SIGCONT)  # a stopped process does not act on SIGTERM
        m.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            m.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            m.proc.kill()
            m.proc.wait()
        m.log.close()
        m.paused = False

    def start_member(self, i, wait=True, timeout=START_SECONDS):
        """Starts a stopped member i again over its data, as a member of the existing cluster.
        With `wait`, returns when it is healthy, which needs a quorum of members up."""
        m = self.members[i]
        assert m.proc is not None and m.proc.poll() is not None, f"{m.name} is running"
        self._spawn(i, "existing")
        if wait:
            self.wait_healthy(i, timeout)

    def pause_member(self, i):
        """Freezes member i (SIGSTOP): its sockets stay open but it answers nothing, as a
        member on a hung machine or behind a silent partition."""
        m = self.members[i]
        m.proc.send_signal(signal.SIGSTOP)
        m.paused = True

    def resume_member(self, i):
        m = self.members[i]
        m.proc.send_signal(signal.SIGCONT)
        m.paused = False

    def _kill_all(self):
        for m in self.members:
            if m.proc is not None and m.proc.poll() is None:
                m.proc.kill()  # SIGKILL acts on a SIGSTOPped process too
                m.proc.wait()
            if m.log is not None:
                m.log.close()
            shutil.rmtree(m.dir, ignore_errors=True)
        self.members = []

    def close(self):
        """Kills every member and removes their directories."""
        for c in self.clients:
            c.close()
        self.clients = []
        self._kill_all()


@pytest.fixture()
def etcd():
    """A started one-member etcd."""
    e = Etcd()
    try:
        yield e.start(1)
    finally:
        e.close()


@pytest.fixture()
def etcd3():
    """A started three-member etcd cluster."""
    e = Etcd()
    try:
        yield e.start(3)
    finally:
        e.close()
