"""Backups through the CLI, as the README's worked example: write, back up, delete by
mistake, back up, restore to the moment before the delete, serve the restored directory."""
import json
import os
import subprocess
import time

import httpx

from conftest import BINARY


def hsdb(*args, check=True):
    r = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert r.returncode == 0, f"hsdb {' '.join(args)}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def test_restore_to_the_moment_before_a_bad_delete(fresh_server, tmp_path):
    data, backups = str(tmp_path / "data"), str(tmp_path / "backups")
    s = fresh_server(data=data)
    with httpx.Client(base_url=s.url, timeout=30) as http:
        assert http.put("/collections/docs", json={"vectors": {"size": 4, "distance": "Dot"}}).status_code == 200
        points = [{"id": i, "vector": [1, i, 0, 0], "payload": {"n": i}} for i in range(1, 101)]
        assert http.put("/collections/docs/points?wait=true", json={"points": points}).status_code == 200
    assert s.stop() == 0
    hsdb("backup", "create", "--data", data, "--to", backups)

    s = fresh_server(data=data)
    with httpx.Client(base_url=s.url, timeout=30) as http:
        extra = [{"id": i, "vector": [0, 1, i, 0], "payload": {"n": i}} for i in range(101, 121)]
        before = http.put("/collections/docs/points?wait=true", json={"points": extra}).json()["result"]["operation_id"]
        # The mistake: everything with n <= 90 is deleted.
        bad = http.post("/collections/docs/points/delete?wait=true",
                        json={"filter": {"must": [{"key": "n", "range": {"lte": 90}}]}}).json()["result"]["operation_id"]
        assert bad > before
        assert http.post("/collections/docs/points/count", json={}).json()["result"]["count"] == 30
    assert s.stop() == 0
    hsdb("backup", "create", "--data", data, "--to", backups)
    assert sorted(os.listdir(backups)) == ["000001-full.car", "000002-incremental.car"]

    listing = [json.loads(line) for line in hsdb("backup", "list", backups, "--json").stdout.splitlines()]
    assert [b.get("kind") for b in listing if "kind" in b] == ["full", "incremental"]
    windows = [w for w in listing if "restorable_lsns" in w]
    assert windows and windows[-1]["restorable_lsns"][-1][1] >= bad, windows
    hsdb("backup", "verify", backups)

    restored = str(tmp_path / "restored")
    out = hsdb("restore", "--from", backups, "--to", restored, "--collection", "docs", "--at-lsn", str(bad - 1)).stdout
    assert "docs" in out and str(bad - 1) in out
    r = fresh_server(data=restored)
    with httpx.Client(base_url=r.url, timeout=30) as http:
        assert http.post("/collections/docs/points/count", json={}).json()["result"]["count"] == 120
        got = http.post("/collections/docs/points", json={"ids": [1, 90, 120], "with_payload": True}).json()["result"]
        assert [(p["id"], p["payload"]["n"]) for p in got] == [(1, 1), (90, 90), (120, 120)]

    # A target that is not empty, and a damaged archive, are refused and change nothing.
    refused = hsdb("restore", "--from", backups, "--to", restored, check=False)
    assert refused.returncode != 0 and "empty" in (refused.stderr + refused.stdout)
    car = os.path.join(backups, "000002-incremental.car")
    blob = bytearray(open(car, "rb").read())
    blob[len(blob) // 2] ^= 0x01
    open(car, "wb").write(bytes(blob))
    damaged = hsdb("backup", "verify", backups, check=False)
    assert damaged.returncode == 1 and "000002-incremental.car" in (damaged.stderr + damaged.stdout)
    target = str(tmp_path / "never")
    assert hsdb("restore", "--from", backups, "--to", target, check=False).returncode != 0
    assert not os.path.exists(target)


def test_a_server_takes_new_bases_and_prunes_and_the_cli_prunes(fresh_server, tmp_path):
    """`--base-backup-after-mb`/`--backup-keep-full` on a server, `backup prune` by hand:
    the directory keeps the newest full backups, reads as pruned, and restores the latest."""
    data, backups = str(tmp_path / "data"), str(tmp_path / "backups")
    s = fresh_server("--backup-dir", backups, "--archive-interval", "3600", "--backup-keep-full", "2", data=data)
    with httpx.Client(base_url=s.url, timeout=30) as http:
        # The archiver's first pass backs up the empty database: backup 1, full.
        deadline = time.monotonic() + 30
        while http.get("/backups").json()["result"]["archiver"]["backups"] < 1:
            assert time.monotonic() < deadline, "no first backup"
            time.sleep(0.05)
        assert http.put("/collections/docs", json={"vectors": {"size": 4, "distance": "Dot"}}).status_code == 200
        for round in range(6):  # backups 2...7: full on request at 4 and 6
            pts = [{"id": round * 10 + i, "vector": [1, i, round, 0], "payload": {"r": round}} for i in range(10)]
            assert http.put("/collections/docs/points?wait=true", json={"points": pts}).status_code == 200
            full = round in (2, 4)
            result = http.post(f"/backups?full={'true' if full else 'false'}").json()["result"]
            assert (result["sequence"], result["kind"]) == (round + 2, "full" if full else "incremental"), result
    assert s.stop() == 0
    # After backup 6 (full) the server kept two full backups, 4 and 6, and what follows them.
    names = sorted(os.listdir(backups))
    assert names == ["000004-full.car", "000005-incremental.car", "000006-full.car", "000007-incremental.car", "PRUNED"], names
    assert "backups before 4 were pruned" in hsdb("backup", "list", backups).stdout
    assert hsdb("backup", "verify", backups).stdout.startswith("ok: 4 backup(s)")

    r = hsdb("backup", "prune", backups, "--keep-full", "1")
    assert r.stdout.splitlines()[:2] == ["removed 000004-full.car", "removed 000005-incremental.car"], r.stdout
    assert sorted(os.listdir(backups)) == ["000006-full.car", "000007-incremental.car", "PRUNED"]
    refused = hsdb("backup", "prune", backups, "--keep-full", "0", check=False)
    assert refused.returncode == 1 and "--keep-full must be at least 1" in refused.stderr
    hsdb("restore", "--from", backups, "--to", str(tmp_path / "restored"))
    s = fresh_server(data=str(tmp_path / "restored"))
    with httpx.Client(base_url=s.url, timeout=30) as http:
        assert http.post("/collections/docs/points/count", json={}).json()["result"]["count"] == 60
    assert s.stop() == 0
