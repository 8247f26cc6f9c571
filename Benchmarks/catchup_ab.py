"""Catch-up from LSN 0, follower builds side by side: one leader filled once (the dev vectors
written REPEAT times under distinct ids), then, round after round, a fresh follower of each
binary given streams the whole log; one JSON line per catch-up. The same leader and disk
for every follower, so builds compare without the run-to-run noise of separate fills.

Usage: python3 catchup_ab.py LEADER_BINARY REPEAT ROUNDS FOLLOWER_BINARY...
"""
import sys, time, tempfile, shutil, json
sys.path.insert(0, __import__('os').path.dirname(__file__))
from bench_server import Server, call, upsert, vectors, DIM
from replication import wait_for, leader_lsn
leader_bin, repeat, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
followers = sys.argv[4:]
vecs = vectors(100_000)
work = tempfile.mkdtemp()
big = ["--memtable-mb", "8192", "--durability", "none", "--idle-flush-seconds", "0"]
leader = Server(leader_bin, f"{work}/L", *big)
call(f"{leader.url}/collections/c", "PUT", {"vectors": {"size": DIM, "distance": "Cosine"}})
for k in range(repeat): upsert(leader.url, vecs, start=k * len(vecs))
del vecs
lsn = leader_lsn(leader.url)
for r in range(rounds):
    for fb in followers:
        t0 = time.perf_counter()
        f = Server(fb, f"{work}/F", *big, "--replica-of", leader.url)
        wait_for(f.url, lsn)
        dt = time.perf_counter() - t0
        f.stop(); shutil.rmtree(f"{work}/F")
        print(json.dumps({"follower": fb, "seconds": round(dt, 2)}), flush=True)
leader.stop(); shutil.rmtree(work)
