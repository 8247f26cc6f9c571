"""Snapshots as Qdrant serves them, against a real `hsdb serve`: recovery from an http URL
(checked against its checksum), full-storage snapshots (every collection in one archive that
`hsdb restore` reads), and the shard-0 routes of a one-shard collection."""
import functools
import hashlib
import http.server
import os
import subprocess
import threading
import time

import httpx
import pytest

from conftest import BINARY

DIM = 4


# The session's server is shared: what a test made is dropped after it (conftest).
pytestmark = pytest.mark.usefixtures("drop_what_the_test_made")


def fill(http, name, n):
    assert http.put(f"/collections/{name}", json={"vectors": {"size": DIM, "distance": "Dot"}}).status_code == 200
    points = [{"id": i, "vector": [float(i), 1.0, 0.0, 0.5], "payload": {"i": i}} for i in range(n)]
    assert http.put(f"/collections/{name}/points?wait=true", json={"points": points}).status_code == 200


@pytest.fixture()
def served(tmp_path):
    """A plain HTTP server over tmp_path/www, as a user would host a snapshot."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_recovery_from_an_http_url_is_checked_against_its_checksum(http, served):
    root, url = served
    fill(http, "web", 10)
    snap = http.post("/collections/web/snapshots?wait=true").json()["result"]
    (root / "web.snapshot").write_bytes(http.get(f"/collections/web/snapshots/{snap['name']}").content)
    assert http.delete("/collections/web").json()["result"] is True
    r = http.put("/collections/web/snapshots/recover", json={"location": f"{url}/web.snapshot", "checksum": "3" * 64})
    assert r.status_code == 400 and "checksum mismatch" in r.json()["status"]["error"]
    assert http.post("/collections/web/points/scroll", json={}).status_code == 404
    r = http.put("/collections/web/snapshots/recover", json={"location": f"{url}/missing.snapshot"})
    assert r.status_code == 400 and "HTTP status 404" in r.json()["status"]["error"]
    r = http.put("/collections/web/snapshots/recover", json={"location": f"{url}/web.snapshot", "checksum": "xyz"})
    assert r.status_code == 422 and "invalid_sha256_hash" in r.text
    r = http.put("/collections/web/snapshots/recover", json={"location": f"{url}/web.snapshot", "checksum": snap["checksum"]})
    assert r.status_code == 200, r.text
    assert len(http.post("/collections/web/points/scroll", json={"limit": 100}).json()["result"]["points"]) == 10


def test_a_full_snapshot_holds_every_collection_and_restores(fresh_server, tmp_path):
    s = fresh_server()
    with httpx.Client(base_url=s.url, timeout=30) as http:
        fill(http, "first", 7)
        fill(http, "second", 3)
        assert http.get("/snapshots").json()["result"] == []
        snap = http.post("/snapshots?wait=true").json()["result"]
        assert snap["name"].startswith("full-snapshot-") and snap["name"].endswith(".snapshot")
        assert [d["name"] for d in http.get("/snapshots").json()["result"]] == [snap["name"]]
        body = http.get(f"/snapshots/{snap['name']}").content
        assert len(body) == snap["size"] and hashlib.sha256(body).hexdigest() == snap["checksum"]
        # Collection snapshots are not full ones, and a collection's folder is not a snapshot.
        assert http.get("/snapshots/first").status_code == 404
        assert http.delete(f"/snapshots/{snap['name']}").json()["result"] is True
        assert http.get("/snapshots").json()["result"] == []
        assert http.delete(f"/snapshots/{snap['name']}").status_code == 404
        # Without waiting: 202, and the snapshot appears once written.
        assert http.post("/snapshots?wait=false").status_code == 202
        deadline = time.monotonic() + 30
        while not http.get("/snapshots").json()["result"]:
            assert time.monotonic() < deadline, "the snapshot never appeared"
            time.sleep(0.05)
    # The file is a full backup archive: `hsdb restore` brings both collections back.
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "000001-full.car").write_bytes(body)
    restored = str(tmp_path / "restored")
    r = subprocess.run([BINARY, "restore", "--from", str(backups), "--to", restored], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    t = fresh_server(data=restored)
    with httpx.Client(base_url=t.url, timeout=30) as http:
        for name, n in (("first", 7), ("second", 3)):
            assert http.post(f"/collections/{name}/points/count", json={}).json()["result"]["count"] == n


def test_shard_zero_routes_are_the_collection_snapshots(http):
    fill(http, "sharded", 5)
    snap = http.post("/collections/sharded/shards/0/snapshots?wait=true").json()["result"]
    listed = [d["name"] for d in http.get("/collections/sharded/snapshots").json()["result"]]
    assert snap["name"] in listed
    assert [d["name"] for d in http.get("/collections/sharded/shards/0/snapshots").json()["result"]] == listed
    assert http.get(f"/collections/sharded/shards/0/snapshots/{snap['name']}").status_code == 200
    assert http.get("/collections/sharded/shards/1/snapshots").status_code == 404
    r = http.put("/collections/nowhere/shards/0/snapshots/recover", json={"location": "whatever"})
    assert r.status_code == 404
    r = http.post("/collections/sharded/shards/0/snapshots/upload?checksum=abc", files={"snapshot": ("s.tar", b"x")})
    assert r.status_code == 422 and "invalid_sha256_hash" in r.text
    assert http.delete(f"/collections/sharded/shards/0/snapshots/{snap['name']}").json()["result"] is True
    assert http.get("/collections/sharded/snapshots").json()["result"] == []
