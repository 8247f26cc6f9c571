"""Backup benchmarks: a real `hsdb serve` (release) with --backup-dir, each figure next to its
reference measured in the same run. Prints one JSON line per measurement.

  full_backup       POST /backups?full=true of the data set (segments and WAL), MB/s; against
                    `cp -r` plus `sha256sum` of the same files
  incremental       after 1% of the points changed: CAR bytes against the new WAL bytes;
                    and a backup with no change at all
  restore           `hsdb restore` of the full backup plus 7 incrementals, MB/s of the restored
                    directory; against the engine's own WAL recovery (the server's open of the
                    original directory, as its log reports it)
  search_during     search QPS (one client) while full backups run back to back, against without
  upsert_p99        durable single-point upserts (one client): p99 latency while full backups
                    run back to back, against without
  memory            the server's anonymous RSS growth during the full backup (mapped file pages
                    excluded: they are the page cache); `hsdb restore`'s peak RSS

Usage: python3 backup.py HSDB_BINARY [--points N]
Vectors: the first N of ../shared/data/dev/base.f16 when present, else random.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time

from bench_server import DIM, Server, call, emit, tree_bytes, upsert, vectors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--points", type=int, default=100_000)
    args = ap.parse_args()
    vecs = vectors(args.points)
    tmp = tempfile.mkdtemp(prefix="hsdb-backup-bench-")
    data, backups = os.path.join(tmp, "data"), os.path.join(tmp, "backups")
    s = Server(args.binary, data, "--backup-dir", backups, "--archive-interval", "86400")
    try:
        call(f"{s.url}/collections/c", "PUT", {"vectors": {"size": DIM, "distance": "Cosine"}})
        upsert(s.url, vecs, 0)
        collection = os.path.join(data, "collections", "c")
        files = [os.path.join(collection, "segments"), os.path.join(collection, "wal")]
        s.wait_idle()  # background flushes and graph builds done: both sides get the same machine

        peak, sampling = [s.anon_rss_kib()], threading.Event()
        base = peak[0]

        def sample():
            while not sampling.is_set():
                peak.append(s.anon_rss_kib())
                time.sleep(0.01)
        sampler = threading.Thread(target=sample)
        sampler.start()
        t = time.monotonic()
        full = call(f"{s.url}/backups?full=true", "POST")["result"]
        elapsed = time.monotonic() - t
        sampling.set()
        sampler.join()

        # References over the same files, warm as the backup found them: cp plus sha256sum,
        # and the same followed by a sync (the backup is durable when it answers).
        size = tree_bytes(*files)
        refs = {}
        for label, tail in (("cp -r + sha256sum", ""), ("cp -r + sha256sum + sync", " && sync")):
            copy = os.path.join(tmp, "copy")
            t = time.monotonic()
            subprocess.run(f"cp -r {collection} {copy} && find {' '.join(files)} -type f -exec sha256sum {{}} + > /dev/null{tail}",
                           shell=True, check=True)
            refs[label] = time.monotonic() - t
            shutil.rmtree(copy)
        for label, seconds in refs.items():
            emit(measure="full_backup", car_bytes=full["bytes"], files_bytes=size, seconds=round(elapsed, 3),
                 mb_s=round(full["bytes"] / elapsed / 1e6, 1), reference=label, reference_mb_s=round(size / seconds / 1e6, 1),
                 ratio=round((full["bytes"] / elapsed) / (size / seconds), 2))
        emit(measure="memory", what="backup: server anonymous RSS growth", kib=max(peak) - base, data_mib=size >> 20)

        # Incrementals: 1% of the points changed each time; then one with no change.
        rng = random.Random(3)
        incrementals = []
        for k in range(7):
            before = tree_bytes(os.path.join(collection, "wal"))
            ids = rng.sample(range(args.points), args.points // 100)
            changed = [vecs[(i + 1) % args.points] for i in ids]
            for i in range(0, len(ids), 500):
                pts = [{"id": ids[i + j], "vector": v, "payload": {"changed": k}} for j, v in enumerate(changed[i:i + 500])]
                call(f"{s.url}/collections/c/points?wait=true", "PUT", {"points": pts})
            new_wal = tree_bytes(os.path.join(collection, "wal")) - before
            inc = call(f"{s.url}/backups", "POST")["result"]
            incrementals.append((inc["bytes"], new_wal))
        for car, wal in incrementals:
            emit(measure="incremental", changed_points=args.points // 100, car_bytes=car, new_wal_bytes=wal,
                 ratio=round(car / max(wal, 1), 3), target="<= 1.1x + 64 KiB")
        same = call(f"{s.url}/backups", "POST")["result"]
        emit(measure="incremental_unchanged", car_bytes=same["bytes"], target="<= 16 KiB")
        chain = os.path.join(tmp, "chain")  # the full backup and its incrementals, for the restore
        shutil.copytree(backups, chain)

        # Search QPS and upsert latency without and with back-to-back full backups.
        queries = vecs[:200]

        def qps(seconds=8):
            n, end = 0, time.monotonic() + seconds
            while time.monotonic() < end:
                call(f"{s.url}/collections/c/points/search", "POST", {"vector": queries[n % len(queries)], "limit": 10})
                n += 1
            return n / seconds

        def upsert_latencies(seconds=8):
            """Durable single-point upserts (wait=true) back to back: each call's latency, ms."""
            out, n, end = [], 0, time.monotonic() + seconds
            while time.monotonic() < end:
                t0 = time.monotonic()
                call(f"{s.url}/collections/c/points?wait=true", "PUT",
                     {"points": [{"id": n % 1000, "vector": queries[n % len(queries)], "payload": {"i": n}}]})
                out.append((time.monotonic() - t0) * 1000)
                n += 1
            return sorted(out)

        def p99(latencies):
            return round(latencies[int(len(latencies) * 0.99)], 2)

        def during_backups(measure):
            stop, count = threading.Event(), [0]

            def loop():
                while not stop.is_set():
                    call(f"{s.url}/backups?full=true", "POST")
                    count[0] += 1
            busy = threading.Thread(target=loop)
            busy.start()
            try:
                return measure(), count[0]
            finally:
                stop.set()
                busy.join()

        s.wait_idle()
        quiet = qps()
        loaded, meanwhile = during_backups(qps)
        emit(measure="search_during_backup", qps_without=round(quiet, 1), qps_with=round(loaded, 1),
             ratio=round(loaded / quiet, 2), full_backups_meanwhile=meanwhile)
        s.wait_idle()
        quiet = upsert_latencies()
        loaded, meanwhile = during_backups(upsert_latencies)
        emit(measure="upsert_p99_during_backup", p99_ms_without=p99(quiet), p99_ms_with=p99(loaded),
             p50_ms_without=round(quiet[len(quiet) // 2], 2), p50_ms_with=round(loaded[len(loaded) // 2], 2),
             upserts_without=len(quiet), upserts_with=len(loaded), ratio=round(p99(loaded) / p99(quiet), 2),
             full_backups_meanwhile=meanwhile)
    finally:
        s.stop()

    # Restore of the whole chain against the engine's WAL recovery of the same data.
    restored = os.path.join(tmp, "restored")
    t = time.monotonic()
    # GNU time reports the restore's own peak (a child forked from this big Python process
    # would inherit its high-water mark in ru_maxrss).
    done = subprocess.run(["/usr/bin/time", "-f", "%M", args.binary, "restore", "--from", chain, "--to", restored],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    elapsed = time.monotonic() - t
    restore_peak = int(done.stderr.strip().splitlines()[-1])  # KiB; mapped WAL pages included
    restored_bytes = tree_bytes(restored)
    # The engine's own recovery: reopen the original directory and read what its log says.
    s = Server(args.binary, data)
    s.stop()
    log = open(s.log_path).read()
    replays = [(int(m.group(2)), float(m.group(3))) for m in re.finditer(
        r"replayed (\d+) WAL records \(last LSN \d+, (\d+) bytes, \d+ files\) in ([\d.]+) s", log)]
    wal_bytes, wal_seconds = sum(b for b, _ in replays), sum(t for _, t in replays)
    emit(measure="restore", cars=len(os.listdir(chain)), restored_bytes=restored_bytes, seconds=round(elapsed, 3),
         mb_s=round(restored_bytes / elapsed / 1e6, 1), reference="WAL recovery at open",
         reference_mb_s=round(wal_bytes / max(wal_seconds, 1e-9) / 1e6, 1),
         ratio=round((restored_bytes / elapsed) / (wal_bytes / max(wal_seconds, 1e-9)), 2))
    # A steadier reference: the engine's recovery of the restored log as a whole (a copy
    # without its manifest and segments replays every WAL file into the memtable), the same
    # bytes the restore wrote as WAL, on the same disk, in this run.
    whole = os.path.join(tmp, "replay-whole")
    shutil.copytree(restored, whole)
    for c in os.listdir(os.path.join(whole, "collections")):
        d = os.path.join(whole, "collections", c)
        if os.path.exists(os.path.join(d, "MANIFEST")):
            os.remove(os.path.join(d, "MANIFEST"))
        for f in os.listdir(os.path.join(d, "segments")):
            os.remove(os.path.join(d, "segments", f))
    s = Server(args.binary, whole, "--memtable-mb", "65536")
    s.stop()
    replays = [(int(m.group(2)), float(m.group(3))) for m in re.finditer(
        r"replayed (\d+) WAL records \(last LSN \d+, (\d+) bytes, \d+ files\) in ([\d.]+) s", open(s.log_path).read())]
    whole_bytes, whole_seconds = sum(b for b, _ in replays), sum(t for _, t in replays)
    emit(measure="restore_vs_whole_replay", restored_bytes=restored_bytes, seconds=round(elapsed, 3),
         mb_s=round(restored_bytes / elapsed / 1e6, 1), reference="WAL recovery of the restored log from its first record",
         replayed_bytes=whole_bytes, reference_seconds=round(whole_seconds, 3),
         reference_mb_s=round(whole_bytes / max(whole_seconds, 1e-9) / 1e6, 1),
         ratio=round((restored_bytes / elapsed) / (whole_bytes / max(whole_seconds, 1e-9)), 2))
    emit(measure="memory", what="restore: peak RSS of hsdb restore", kib=restore_peak, restored_mib=restored_bytes >> 20)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
