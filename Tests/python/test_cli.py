"""The operator CLI: import (.npy and .fvecs with JSONL payloads), stats, compact, verify,
collections; each refuses (exit 2) while a server holds the directory."""
import json
import os
import struct
import subprocess

import numpy as np

from conftest import BINARY


def hsdb(*args):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=300)


def test_import_stats_compact_verify(tmp_path, fresh_server):
    data = str(tmp_path / "db")
    vectors = np.random.default_rng(3).standard_normal((1500, 12)).astype("<f4")
    np.save(tmp_path / "v.npy", vectors)
    with open(tmp_path / "p.jsonl", "w") as f:
        for i in range(1500):
            f.write(json.dumps({"i": i}) + "\n")
    r = hsdb("import", "--data", data, "--collection", "docs", "--vectors", str(tmp_path / "v.npy"),
             "--payloads", str(tmp_path / "p.jsonl"), "--metric", "dot", "--batch", "400")
    assert r.returncode == 0, r.stderr
    assert "100% 1500/1500" in r.stderr  # the progress bar reached the end
    with open(tmp_path / "w.fvecs", "wb") as f:
        for row in vectors[:10]:
            f.write(struct.pack("<i", 12) + row.tobytes())
    r = hsdb("import", "--data", data, "--collection", "docs", "--vectors", str(tmp_path / "w.fvecs"), "--start-id", "5000")
    assert r.returncode == 0, r.stderr
    stats = json.loads(hsdb("stats", "--data", data, "--json").stdout)
    assert stats["points"] == 1510 and stats["dimension"] == 12 and stats["metric"] == "dot"
    assert hsdb("compact", "--data", data).returncode == 0
    stats = json.loads(hsdb("stats", "--data", data, "--json").stdout)
    assert stats["segments"] == 1 and stats["segment_points"] == 1510 and stats["unflushed_bytes"] == 0
    assert hsdb("verify", "--data", data).returncode == 0
    assert "docs" in hsdb("collections", "--data", data).stdout
    # The data is what was imported: query it over HTTP.
    s = fresh_server(data=data)
    import httpx
    hits = httpx.post(s.url + "/collections/docs/points/query",
                      json={"query": vectors[100].tolist(), "limit": 1, "with_payload": True}).json()["result"]["points"]
    assert hits[0]["id"] == 100 and hits[0]["payload"] == {"i": 100}
    # While the server holds the directory, every operator command refuses politely.
    for args in (["stats"], ["compact"], ["verify"], ["collections"],
                 ["import", "--collection", "docs", "--vectors", str(tmp_path / "w.fvecs")]):
        r = hsdb(*args, "--data", data)
        assert r.returncode == 2 and "stop it first" in r.stderr, (args, r.stderr)


def test_import_refuses_bad_files(tmp_path):
    data = str(tmp_path / "db")
    np.save(tmp_path / "v.npy", np.zeros((3, 4), dtype="<f4"))
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n[2]\n{"c": 3}\n')
    r = hsdb("import", "--data", data, "--collection", "c", "--vectors", str(tmp_path / "v.npy"), "--payloads", str(tmp_path / "bad.jsonl"))
    assert r.returncode == 1 and "line 2" in r.stderr
    (tmp_path / "short.jsonl").write_text('{"a": 1}\n')
    r = hsdb("import", "--data", data, "--collection", "c", "--vectors", str(tmp_path / "v.npy"), "--payloads", str(tmp_path / "short.jsonl"))
    assert r.returncode == 1 and "1 payload lines for 3 vectors" in r.stderr
    np.save(tmp_path / "i.npy", np.zeros((3, 4), dtype="<i8"))
    r = hsdb("import", "--data", data, "--collection", "c", "--vectors", str(tmp_path / "i.npy"))
    assert r.returncode == 1 and "not supported" in r.stderr
    assert not os.path.exists(os.path.join(data, "collections", "c"))


def test_corrupt_segment_is_named_by_verify_and_serve_refuses_cleanly(tmp_path):
    """A flipped byte in a segment: `hsdb verify` exits 1 naming the file and offset, and
    `hsdb serve` refuses to start with the same message (no crash, no data served)."""
    data = str(tmp_path / "db")
    np.save(tmp_path / "v.npy", np.random.default_rng(5).standard_normal((600, 8)).astype("<f4"))
    assert hsdb("import", "--data", data, "--collection", "c", "--vectors", str(tmp_path / "v.npy")).returncode == 0
    assert hsdb("compact", "--data", data).returncode == 0
    segments = os.path.join(data, "collections", "c", "segments")
    (name,) = os.listdir(segments)
    path = os.path.join(segments, name)
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x10]))
    r = hsdb("verify", "--data", data)
    assert r.returncode == 1 and path in r.stderr and "offset" in r.stderr, r.stderr
    r = subprocess.run([BINARY, "serve", "--data", data, "--port", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert path in r.stderr and "offset" in r.stderr and "hsdb listening" not in r.stdout, r.stderr
    assert "Fatal error" not in r.stderr and "Stack dump" not in r.stderr, r.stderr
