"""Fixtures: a real `hsdb serve` process on a free loopback port, over a fresh data directory."""
import os
import signal
import subprocess
import tempfile

import httpx
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("HSDB_BINARY", os.path.join(ROOT, ".build", "debug", "hsdb"))


class Server:
    """One `hsdb serve` child. `stop()` sends SIGTERM and returns the exit code."""

    def __init__(self, data_dir, *extra):
        self.data_dir = data_dir
        self.log = open(os.path.join(data_dir + ".log"), "w")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--data", data_dir, "--port", "0", "--grpc-port", "0", *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        # The REST and gRPC listeners each print their line when bound, in either order.
        self._grpc_port = None
        line = self.proc.stdout.readline()
        if line.startswith("hsdb gRPC on "):
            self._grpc_port = int(line.rsplit(":", 1)[1])
            line = self.proc.stdout.readline()
        if not line.startswith("hsdb listening on "):
            self.proc.kill()
            raise RuntimeError(f"hsdb serve did not start: {line!r}; log in {data_dir}.log")
        self.url = line.split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])

    @property
    def grpc_port(self):
        """The gRPC port (its line read now if it came after the REST one)."""
        if self._grpc_port is None:
            line = self.proc.stdout.readline()
            assert line.startswith("hsdb gRPC on "), line
            self._grpc_port = int(line.rsplit(":", 1)[1])
        return self._grpc_port

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.log.close()
        # What the server wrote after its first line, then the pipe closed (else the garbage
        # collector closes it, with a ResourceWarning that lands in whichever test runs then).
        self.output = self.proc.stdout.read() if self.proc.stdout else ""
        if self.proc.stdout:
            self.proc.stdout.close()
        return code


def backup_and_restore(data, tmp_path):
    """`hsdb backup create` of a stopped server's data directory, then `hsdb restore` of it
    into a new directory, which is returned."""
    backups, restored = str(tmp_path / "backups"), str(tmp_path / "restored")
    for args in (["backup", "create", "--data", data, "--to", backups], ["restore", "--from", backups, "--to", restored]):
        r = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
    return restored


@pytest.fixture(scope="session")
def server():
    with tempfile.TemporaryDirectory(prefix="hsdb-pytest-") as tmp:
        s = Server(os.path.join(tmp, "data"))
        yield s
        assert s.stop() == 0, "hsdb serve must exit 0 on SIGTERM"


@pytest.fixture()
def fresh_server():
    """A server of its own, for tests that restart or need an empty database."""
    with tempfile.TemporaryDirectory(prefix="hsdb-pytest-") as tmp:
        servers = []

        def start(*extra, data=os.path.join(tmp, "data")):
            s = Server(data, *extra)
            servers.append(s)
            return s

        yield start
        for s in servers:
            if s.proc.poll() is None:
                s.stop()


def connection(server, transport):
    """How qdrant-client (and the stores built on it) reach `server`: REST by URL, or, with
    transport "grpc", Qdrant's gRPC API (prefer_grpc=True, as many snippets set)."""
    if transport == "grpc":
        return {"host": "127.0.0.1", "port": server.port, "grpc_port": server.grpc_port, "prefer_grpc": True}
    return {"url": server.url}


def qdrant_client(server, transport, cls=None, **kw):
    """qdrant-client (or its async twin), unmodified, on `server` over `transport`."""
    import qdrant_client
    cls = cls or qdrant_client.QdrantClient
    return cls(**connection(server, transport), **{"timeout": 30, **kw})


@pytest.fixture(params=["rest", "grpc"])
def transport(request):
    """Each test taking it runs twice: over REST and over gRPC, with the same assertions."""
    return request.param


@pytest.fixture()
def client(server, transport):
    """qdrant-client, unmodified, on the session's server, over REST and over gRPC."""
    c = qdrant_client(server, transport)
    yield c
    c.close()


@pytest.fixture()
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture()
def drop_what_the_test_made(request):
    """Drops, after a test on the session's shared server, the collections it made."""
    if "http" not in request.fixturenames and "client" not in request.fixturenames:
        yield
        return
    http = request.getfixturevalue("http")
    before = {c["name"] for c in http.get("/collections").json()["result"]["collections"]}
    yield
    for c in http.get("/collections").json()["result"]["collections"]:
        if c["name"] not in before:
            http.delete(f"/collections/{c['name']}")
