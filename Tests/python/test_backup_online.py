"""Online backups by a running server (`--backup-dir`): continuous archiving, POST and GET
/backups, `hsdb backup create --server`; a server killed with SIGKILL while it writes keeps
everything acknowledged before its last backup started restorable from the backup directory
alone, and what is restored is exactly a prefix of the acknowledged writes."""
import datetime
import os
import random
import re
import signal
import subprocess
import threading
import time

import httpx

from conftest import BINARY

DIM = 8


def hsdb(*args, check=True):
    r = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert r.returncode == 0, f"hsdb {' '.join(args)}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def epoch(rfc3339):
    """RFC 3339 with nanoseconds (as hsdb writes times) to seconds since the epoch."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", rfc3339)
    whole = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return whole.timestamp() + (int(m.group(2).ljust(9, "0")) / 1e9 if m.group(2) else 0)


def everything(url, name):
    with httpx.Client(base_url=url, timeout=30) as http:
        points = http.post(f"/collections/{name}/points/scroll",
                           json={"limit": 100000, "with_payload": True}).json()["result"]["points"]
    return {p["id"]: p["payload"] for p in points}


class Writer(threading.Thread):
    """Upserts batches into two collections until stopped, recording each acknowledged one:
    (collection, LSN, ack time, {id: payload})."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.acked, self.stopping = url, [], threading.Event()
        self.sent_at = {}  # (collection, LSN): when the request was sent

    def run(self):
        rng = random.Random(41)
        with httpx.Client(base_url=self.url, timeout=30) as http:
            n = 0
            while not self.stopping.is_set():
                name = rng.choice(["a", "b"])
                batch = {rng.randrange(300): {"n": n, "pad": "x" * rng.randrange(200)} for _ in range(20)}
                pts = [{"id": i, "vector": [rng.uniform(-1, 1) for _ in range(DIM)], "payload": p} for i, p in batch.items()]
                sent = time.time()
                try:
                    r = http.put(f"/collections/{name}/points?wait=true", json={"points": pts})
                except httpx.HTTPError:
                    return  # the server was killed
                if r.status_code != 200:
                    return
                op = r.json()["result"]["operation_id"]
                self.sent_at[(name, op)] = sent
                self.acked.append((name, op, time.time(), batch))
                n += 1


def model(acked, name, lsn):
    state = {}
    for c, op, _, batch in acked:
        if c == name and op <= lsn:
            state.update(batch)
    return state


def test_a_killed_server_leaves_every_write_acknowledged_before_its_last_backup_restorable(fresh_server, tmp_path):
    data, backups = str(tmp_path / "data"), str(tmp_path / "backups")
    s = fresh_server("--backup-dir", backups, "--archive-interval", "1", "--memtable-mb", "1", data=data)
    with httpx.Client(base_url=s.url, timeout=30) as http:
        for name in "ab":
            assert http.put(f"/collections/{name}", json={"vectors": {"size": DIM, "distance": "Cosine"}}).status_code == 200
        writer = Writer(s.url)
        writer.start()
        # Several backups while the writes run (flushes too: 1 MiB memtables).
        deadline = time.monotonic() + 120
        while True:
            status = http.get("/backups").json()["result"]["archiver"]
            if status["backups"] >= 4 and len(writer.acked) >= 200:
                break
            assert time.monotonic() < deadline, f"no backups while writing: {status}"
            time.sleep(0.05)
        last_success = epoch(status["last_success"])
        s.proc.send_signal(signal.SIGKILL)
        killed = time.time()
        s.proc.wait(timeout=30)
        writer.stopping.set()
        writer.join(timeout=30)
    assert status["healthy"] and status["failures"] == 0, status
    hsdb("backup", "verify", backups)
    restored = str(tmp_path / "restored")
    out = hsdb("restore", "--from", backups, "--to", restored).stdout
    lsns = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+): LSN (\d+)", out, re.M)}
    assert set(lsns) == {"a", "b"}, out
    r = fresh_server(data=restored)
    for name in "ab":
        # Exactly the acknowledged writes up to the LSN reached: a prefix, nothing torn.
        assert everything(r.url, name) == model(writer.acked, name, lsns[name]), f"collection {name} at LSN {lsns[name]}"
        # Everything acknowledged before the last backup began is in the archive.
        before = [op for c, op, t, _ in writer.acked if c == name and t < last_success]
        assert before and max(before) <= lsns[name], (name, max(before), lsns[name])
    print(f"RPO measured: the last backup began {killed - last_success:.2f} s before the kill (interval 1 s)")
    # To a commit time: a moment amid the writes the backups hold. A write acknowledged by
    # then committed by then (its clock record precedes the answer), one sent after it did
    # not; the restore is exactly the acknowledged writes up to the LSN it reached.
    acked_before = sorted(t for _, _, t, _ in writer.acked if t < last_success)
    moment = acked_before[len(acked_before) // 2] + 0.0005
    at = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    to_time = str(tmp_path / "restored-at-time")
    out = hsdb("restore", "--from", backups, "--to", to_time, "--at-time", at).stdout
    at_lsns = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+): LSN (\d+)", out, re.M)}
    assert set(at_lsns) == {"a", "b"}, out
    t = fresh_server(data=to_time)
    for name in "ab":
        assert everything(t.url, name) == model(writer.acked, name, at_lsns[name]), f"{name} at {at} (LSN {at_lsns[name]})"
        for c, op, acked_at, _ in writer.acked:
            if c != name:
                continue
            if acked_at <= moment:
                assert op <= at_lsns[name], f"{name}: LSN {op} acknowledged before {at} is not restored"
            if writer.sent_at[(c, op)] > moment:
                assert op > at_lsns[name], f"{name}: LSN {op} sent after {at} is restored"
    # A backup the kill interrupted left nothing in the way: the restarted server's next
    # backup extends the chain, and it holds what recovery kept.
    again = fresh_server("--backup-dir", backups, "--archive-interval", "3600", data=data)
    with httpx.Client(base_url=again.url, timeout=30) as http:
        made = http.post("/backups").json()["result"]
        assert made["kind"] == "incremental", made
        recovered = {c["name"]: c["lsn"] for c in made["collections"]}
    assert all(recovered[n] >= lsns[n] for n in "ab"), (recovered, lsns)
    assert not [n for n in os.listdir(backups) if not re.fullmatch(r"\d{6}-(full|incremental)\.car", n) and not n.startswith(".")]
    hsdb("backup", "verify", backups)


def test_backups_on_demand_through_the_api_and_the_cli_and_a_last_one_at_shutdown(fresh_server, tmp_path):
    data, backups = str(tmp_path / "data"), str(tmp_path / "backups")
    s = fresh_server("--backup-dir", backups, "--archive-interval", "3600", data=data)
    with httpx.Client(base_url=s.url, timeout=30) as http:
        assert http.put("/collections/docs", json={"vectors": {"size": 4, "distance": "Dot"}}).status_code == 200
        pts = [{"id": i, "vector": [1, i, 0, 0], "payload": {"n": i}} for i in range(1, 51)]
        first = http.put("/collections/docs/points?wait=true", json={"points": pts}).json()["result"]["operation_id"]
        made = http.post("/backups").json()
        assert made["status"] == "ok", made
        docs = [c for c in made["result"]["collections"] if c["name"] == "docs"]
        assert docs and docs[0]["lsn"] == first and docs[0]["commit_time"], made
        assert made["result"]["kind"] in ("full", "incremental") and made["result"]["root"].startswith("bafy")

        out = hsdb("backup", "create", "--server", s.url).stdout
        assert "incremental" in out and f"docs: LSN {first}" in out, out

        time.sleep(0.01)  # so a time lies strictly between the upsert's commit and the delete's
        before_delete = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        time.sleep(0.01)
        http.post("/collections/docs/points/delete?wait=true", json={"points": list(range(1, 11))})
        listing = http.get("/backups").json()["result"]
        assert [b["sequence"] for b in listing["backups"]] == list(range(1, len(listing["backups"]) + 1))
        assert listing["archiver"]["healthy"] and listing["archiver"]["interval_seconds"] == 3600
        assert "hsdb_backups_total" in http.get("/metrics").text
        assert http.get("/readyz").status_code == 200
    # The hour-long interval never came: the last backup is the one taken at shutdown.
    assert s.stop() == 0
    restored = str(tmp_path / "restored")
    hsdb("restore", "--from", backups, "--to", restored)
    r = fresh_server(data=restored)
    assert sorted(everything(r.url, "docs")) == list(range(11, 51))
    # The README's example: restore to a moment before the delete.
    earlier = str(tmp_path / "before")
    out = hsdb("restore", "--from", backups, "--to", earlier, "--at-time", before_delete).stdout
    assert f"docs: LSN {first}," in out, out
    r2 = fresh_server(data=earlier)
    assert sorted(everything(r2.url, "docs")) == list(range(1, 51))


def test_backup_routes_without_a_backup_directory_refuse_clearly(fresh_server):
    s = fresh_server()
    with httpx.Client(base_url=s.url, timeout=30) as http:
        for method in ("GET", "POST"):
            r = http.request(method, "/backups")
            assert r.status_code == 400 and "--backup-dir" in r.json()["status"]["error"], r.text
    out = hsdb("backup", "create", "--server", s.url, check=False)
    assert out.returncode == 1 and "--backup-dir" in out.stderr, out.stderr


def test_an_unwritable_backup_directory_keeps_the_server_serving_and_says_so(fresh_server, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the backup directory should be")
    s = fresh_server("--backup-dir", str(blocker), "--archive-interval", "1", data=str(tmp_path / "data"))
    with httpx.Client(base_url=s.url, timeout=30) as http:
        assert http.put("/collections/docs", json={"vectors": {"size": 4, "distance": "Dot"}}).status_code == 200
        r = http.post("/backups")
        assert r.status_code == 503 and "backup failed" in r.json()["status"]["error"], r.text
        ready = http.get("/readyz")
        assert ready.status_code == 503 and "backup archiving is failing" in ready.text
        assert re.search(r"^hsdb_backup_consecutive_failures [1-9]", http.get("/metrics").text, re.M)
        archiver = http.get("/backups").json()["result"]["archiver"]
        assert not archiver["healthy"] and archiver["consecutive_failures"] >= 1 and archiver["last_error"], archiver
        assert http.put("/collections/docs/points?wait=true",
                        json={"points": [{"id": 1, "vector": [1, 0, 0, 0]}]}).status_code == 200
    assert os.path.isfile(blocker)
