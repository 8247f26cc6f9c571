#!/usr/bin/env python3
"""SQLite peer for hsdb's ingest benchmark: the same rows (16-byte key, 1,536-byte vector
value) into SQLite in WAL mode with synchronous=FULL (durable commits), with N writer threads
(one connection each) committing B rows per transaction. Prints one JSON object per config."""
import argparse, json, os, random, sqlite3, tempfile, threading, time

def run(path, batch, writers, seconds):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB NOT NULL)")
    setup.commit()
    setup.close()
    value = os.urandom(1536)
    counts = [0] * writers
    latencies = [[] for _ in range(writers)]
    deadline = time.monotonic() + seconds

    def writer(w):
        con = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA synchronous=FULL")
        rng = random.Random(w)
        while time.monotonic() < deadline:
            rows = [(rng.randbytes(16), value) for _ in range(batch)]
            t = time.monotonic()
            con.execute("BEGIN IMMEDIATE")
            con.executemany("INSERT OR REPLACE INTO kv VALUES(?, ?)", rows)
            con.execute("COMMIT")
            latencies[w].append(time.monotonic() - t)
            counts[w] += batch
        con.close()

    start = time.monotonic()
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads: t.start()
    for t in threads: t.join()
    elapsed = time.monotonic() - start
    lat = sorted(x for l in latencies for x in l)
    p = lambda q: lat[min(len(lat) - 1, int(q * (len(lat) - 1)))] * 1000 if lat else 0
    return {"kind": "sqlite", "batch": batch, "writers": writers, "rows_per_s": sum(counts) / elapsed,
            "commits_per_s": len(lat) / elapsed, "p50_ms": p(0.5), "p99_ms": p(0.99), "sqlite": sqlite3.sqlite_version}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--batches", default="1,64,1024")
    ap.add_argument("--writers", default="1,4,16,64")
    a = ap.parse_args()
    path = os.path.join(a.dir, "sqlite-peer.db")
    for b in map(int, a.batches.split(",")):
        for w in map(int, a.writers.split(",")):
            print(json.dumps(run(path, b, w, a.seconds)), flush=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix): os.remove(path + suffix)
