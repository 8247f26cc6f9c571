"""The state tree's memory and root costs against a baseline build (one with the earlier XOR
digest): 100,000 dev vectors upserted over HTTP, then VmRSS, and on this build the time of a
root with every bucket written since (the first), an unchanged one, and one after one write.

Usage: python3 tree_cost.py HSDB_BINARY BASELINE_BINARY   (run from Benchmarks/)
"""
import sys, time, tempfile, shutil, json, urllib.request
sys.path.insert(0, '.')
from bench_server import Server, call, upsert, vectors
vecs = vectors(100_000)
for label, binary in (("baseline", sys.argv[2]), ("tree", sys.argv[1])):
    d = tempfile.mkdtemp()
    s = Server(binary, d, "--memtable-mb", "64")
    call(f"{s.url}/collections/c", "PUT", {"vectors": {"size": len(vecs[0]), "distance": "Cosine"}})
    upsert(s.url, vecs)
    s.wait_idle()
    pid = s.proc.pid
    rss = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0].split()[1]
    out = {"label": label, "rss_mb": int(rss) // 1024}
    if label == "tree":
        t = time.perf_counter(); call(f"{s.url}/replication/collections/c/tree"); out["first_root_ms"] = round((time.perf_counter() - t) * 1000, 1)
        t = time.perf_counter(); call(f"{s.url}/replication/collections/c/tree"); out["settled_root_ms"] = round((time.perf_counter() - t) * 1000, 1)
        call(f"{s.url}/collections/c/points?wait=true", "PUT", {"points": [{"id": 1, "vector": vecs[1]}]})
        t = time.perf_counter(); call(f"{s.url}/replication/collections/c/tree"); out["one_write_root_ms"] = round((time.perf_counter() - t) * 1000, 1)
    else:
        t = time.perf_counter(); call(f"{s.url}/replication/collections/c/digest"); out["digest_ms"] = round((time.perf_counter() - t) * 1000, 1)
    print(json.dumps(out), flush=True)
    s.stop(); shutil.rmtree(d)
