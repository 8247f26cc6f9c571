"""Point-in-time restore into the middle of about 1 GB of archived WAL, against the engine's
own WAL recovery in the same run. Prints one JSON line per measurement.

  A server with --backup-dir takes a full backup of an empty collection, then ingests until
  its WAL holds --wal-mb (the archive's pin keeps all of it), then an incremental backup that
  archives that WAL. `hsdb restore --collection c --at-lsn MID` (MID: the middle LSN) is timed;
  then the restored directory is opened by `hsdb serve`, whose log reports its WAL replay
  (the reference: the engine's recovery of the same records).

Usage: python3 backup_pitr.py HSDB_BINARY [--wal-mb 1024]
"""
import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time

from bench_server import Server, call, emit, tree_bytes, vectors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--wal-mb", type=int, default=1024)
    args = ap.parse_args()
    vecs = vectors(100_000)
    tmp = tempfile.mkdtemp(prefix="hsdb-pitr-bench-")
    data, backups, restored = (os.path.join(tmp, n) for n in ("data", "backups", "restored"))
    wal = os.path.join(data, "collections", "c", "wal")
    s = Server(args.binary, data, "--backup-dir", backups, "--archive-interval", "86400")
    try:
        call(f"{s.url}/collections/c", "PUT", {"vectors": {"size": len(vecs[0]), "distance": "Cosine"}})
        call(f"{s.url}/backups?full=true", "POST")
        n, t0 = 0, time.monotonic()
        while tree_bytes(wal) < args.wal_mb << 20:
            for _ in range(20):
                pts = [{"id": n + j, "vector": vecs[(n + j) % len(vecs)], "payload": {"i": n + j}} for j in range(500)]
                call(f"{s.url}/collections/c/points?wait=true", "PUT", {"points": pts})
                n += 500
        ingest_s = time.monotonic() - t0
        last = call(f"{s.url}/backups", "POST")["result"]
        (c,) = [c for c in last["collections"] if c["name"] == "c"]
        wal_bytes = tree_bytes(wal)
    finally:
        s.stop(timeout=1800)  # the ingest leaves merges of hundreds of thousands of points running
    emit(measure="ingest", points=n, wal_mib=wal_bytes >> 20, seconds=round(ingest_s, 1), last_lsn=c["lsn"],
         backups_mib=tree_bytes(backups) >> 20)

    mid = c["lsn"] // 2
    t = time.monotonic()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", args.binary, "restore", "--from", backups, "--to", restored,
                           "--collection", "c", "--at-lsn", str(mid)], capture_output=True, text=True, check=True)
    restore_s = time.monotonic() - t
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    restored_wal = tree_bytes(os.path.join(restored, "collections", "c", "wal"))

    t = time.monotonic()
    r = Server(args.binary, restored)
    open_s = time.monotonic() - t
    count = call(f"{r.url}/collections/c/points/count", "POST", {})["result"]["count"]
    r.stop(timeout=1800)
    log = open(r.log_path).read()
    replays = [(int(m.group(2)), float(m.group(3))) for m in re.finditer(
        r"replayed (\d+) WAL records \(last LSN \d+, (\d+) bytes, \d+ files\) in ([\d.]+) s", log)]
    replay_bytes, replay_s = sum(b for b, _ in replays), sum(x for _, x in replays)
    emit(measure="pitr_restore", target_lsn=mid, restored_wal_mib=restored_wal >> 20, seconds=round(restore_s, 2),
         mb_s=round(restored_wal / restore_s / 1e6, 1), peak_rss_kib=peak_kib,
         reference="WAL recovery of the restored records at open", replayed_mib=replay_bytes >> 20,
         reference_seconds=round(replay_s, 2), reference_mb_s=round(replay_bytes / max(replay_s, 1e-9) / 1e6, 1),
         ratio=round((restored_wal / restore_s) / (replay_bytes / max(replay_s, 1e-9)), 2),
         open_seconds=round(open_s, 2), points_at_target=count, target=">= 0.5x")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
