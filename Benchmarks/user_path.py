"""Search as users meet it: the dev set (100K real 384-dim sentence embeddings) uploaded
through a release `hsdb serve` with qdrant-client's `upload_points` (256-point batches), then
queried at once (fresh: most points still in memtables, flushes and merges running) and again
once the server is idle (settled: the idle flush has indexed the last memtable), by one client and by 16 (processes), limit 10, default
settings; recall@10 against the exact ground truth (ties with the 10th neighbour count, as
../shared/bench/peers.py counts them). The Python client costs more CPU per query than the
server (it shares the 2 cores), so each state is also loaded by wrk (C, the same request
bodies: Benchmarks/http/make_bodies.py) with 1 and 16 connections: the server's own
throughput. Beside them, in the same run: the HTTP floor (the same clients against a
100-point collection) and the embedded engine on the same files (`hsdb bench search
--database`, 1 and 2 threads). One JSON line per measurement.

    python3 Benchmarks/user_path.py [--binary PATH] [--seconds S] [--points N]

Needs qdrant-client (scripts/python-tests.sh installs it into .build/python-venv) and numpy.
"""
import argparse
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_server import Server, call, emit  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEV = os.path.join(HERE, "..", "..", "shared", "data", "dev")
NAME = "bench"  # the collection `hsdb bench search --database` searches


def load_dev(points):
    meta = json.load(open(os.path.join(DEV, "meta.json")))
    n, m, dim, kg = meta["n_base"], meta["n_query"], meta["dim"], meta["k_gt"]
    base = np.fromfile(os.path.join(DEV, "base.f16"), dtype="<f2").reshape(n, dim)[:points].astype(np.float32)
    query = np.fromfile(os.path.join(DEV, "query.f16"), dtype="<f2").reshape(m, dim).astype(np.float32)
    gt = np.fromfile(os.path.join(DEV, "gt.i32"), dtype="<i4").reshape(m, kg)[:, :10]
    gts = np.fromfile(os.path.join(DEV, "gt_sim.f32"), dtype="<f4").reshape(m, kg)[:, 9]
    if points < n:  # exact ground truth on the prefix
        b = base / np.linalg.norm(base, axis=1, keepdims=True)
        q = query / np.linalg.norm(query, axis=1, keepdims=True)
        sims = q @ b.T
        gt = np.argsort(-sims, axis=1, kind="stable")[:, :10]
        gts = np.take_along_axis(sims, gt, axis=1)[:, 9]
    return base, query, gt, gts


def recall(results, gt, gts):
    hits = 0
    for i, r in enumerate(results):
        truth = set(gt[i].tolist())
        hits += sum(1 for pid, score in r[:10] if pid in truth or score >= gts[i] - 1e-6)
    return hits / (10 * len(results))


def client_loop(args):
    """One client process: queries in turn from `offset` for `seconds`; returns (count, results)."""
    url, collection, queries, offset, seconds, keep = args
    from qdrant_client import QdrantClient
    client = QdrantClient(url=url, prefer_grpc=False, timeout=60)
    results, count, i = {}, 0, offset
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        qi = i % len(queries)
        hits = client.query_points(collection, query=queries[qi], limit=10).points
        if keep and qi not in results:
            results[qi] = [(h.id, h.score) for h in hits]
        count += 1
        i += 1
    return count, results


def measure(url, collection, queries, clients, seconds, keep=True):
    """QPS of `clients` processes for `seconds`, and the answers each query got first."""
    work = [(url, collection, queries, c * len(queries) // clients, seconds, keep) for c in range(clients)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        parts = pool.map(client_loop, work)
    elapsed = time.perf_counter() - started
    total = sum(p[0] for p in parts)
    answers = {}
    for _, r in parts:
        for qi, hits in r.items():
            answers.setdefault(qi, hits)
    # The pool's start-up is in `elapsed`; the loops themselves ran `seconds` each.
    return total / seconds, answers, elapsed


def layout(url, collection):
    info = call(f"{url}/collections/{collection}")["result"]
    return {"points": info.get("points_count"), "segments": info.get("segments_count"), "status": info.get("status")}


def wrk(url, script, connections, seconds):
    """Requests per second of wrk with `connections` over `script` (2 threads)."""
    out = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{int(seconds)}s", "-s", script, url],
                         capture_output=True, text=True, check=True).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    return summary["requests"] / summary["seconds"], summary


def run_phase(label, url, query_list, gt, gts, seconds, script):
    for connections in (1, 16):
        before = layout(url, NAME)
        rps, summary = wrk(url, script, connections, seconds)
        emit(kind="search_wrk", phase=label, connections=connections, qps=round(rps, 1), p50_ms=summary["p50_ms"],
             p99_ms=summary["p99_ms"], errors=summary["errors"] + summary["non2xx"], layout_before=before)
    for clients in (1, 16):
        before = layout(url, NAME)
        qps, answers, _ = measure(url, NAME, query_list, clients, seconds)
        ordered = [answers[i] for i in sorted(answers)]
        r = recall(ordered, gt[sorted(answers)], gts[sorted(answers)]) if answers else None
        emit(kind="search", phase=label, clients=clients, qps=round(qps, 1), recall=round(r, 4) if r else None,
             queries_answered=len(answers), layout_before=before, layout_after=layout(url, NAME))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(HERE, "..", ".build", "release", "hsdb"))
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    from qdrant_client import QdrantClient, models

    base, query, gt, gts = load_dev(a.points)
    query_list = query.tolist()
    work = a.work or tempfile.mkdtemp(prefix="hsdb-user-path-")
    data = os.path.join(work, "data")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    emit(kind="machine", cpu=cpu, cores=os.cpu_count(), avx2="avx2" in flags, avx512_vpopcntdq="avx512_vpopcntdq" in flags,
         python=platform.python_version(), points=a.points, queries=len(query_list))
    scripts = os.path.join(work, "wrk")
    os.makedirs(scripts, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(HERE, "http", "make_bodies.py"), DEV, scripts], check=True, capture_output=True)
    query_script = os.path.join(scripts, "query.lua")
    with open(query_script) as f:  # the floor collection takes the same bodies
        floor_script = os.path.join(scripts, "floor.lua")
        open(floor_script, "w").write(f.read().replace("/collections/bench/", "/collections/floor/"))
    server = Server(a.binary, data)
    try:
        client = QdrantClient(url=server.url, prefer_grpc=False, timeout=120)
        client.create_collection(NAME, vectors_config=models.VectorParams(size=base.shape[1], distance=models.Distance.COSINE))
        started = time.perf_counter()
        client.upload_points(NAME, points=(models.PointStruct(id=i, vector=v) for i, v in enumerate(base.tolist())),
                             batch_size=a.batch, parallel=1, wait=True)
        upload = time.perf_counter() - started
        emit(kind="upload", points=a.points, seconds=round(upload, 2), points_per_s=round(a.points / upload),
             layout=layout(server.url, NAME))
        run_phase("fresh", server.url, query_list, gt, gts, a.seconds, query_script)
        # Settled: the server's idle flush (5 s without writes, checked every 5 s) has had its
        # chance and nothing has run since.
        server.wait_idle(quiet_s=11)
        run_phase("settled", server.url, query_list, gt, gts, a.seconds, query_script)
        # The HTTP floor: the same clients against a collection of 100 points.
        client.create_collection("floor", vectors_config=models.VectorParams(size=base.shape[1], distance=models.Distance.COSINE))
        client.upsert("floor", [models.PointStruct(id=i, vector=v) for i, v in enumerate(base[:100].tolist())], wait=True)
        for clients in (1, 16):
            qps, _, _ = measure(server.url, "floor", query_list, clients, a.seconds, keep=False)
            emit(kind="search", phase="floor (100 points)", clients=clients, qps=round(qps, 1))
            rps, summary = wrk(server.url, floor_script, clients, a.seconds)
            emit(kind="search_wrk", phase="floor (100 points)", connections=clients, qps=round(rps, 1),
                 p50_ms=summary["p50_ms"], p99_ms=summary["p99_ms"])
    finally:
        server.stop()
    # The embedded engine on the same files (the settled layout), the same queries.
    for threads in (1, 2):
        out = subprocess.run(
            [a.binary, "bench", "search", "--database", data, "--base", os.path.join(DEV, "base.f16"), "--dim", "384",
             "--queries", os.path.join(DEV, "query.fvecs"), "--truth", os.path.join(DEV, "gt.ivecs"), "--ef", "0",
             "--oversampling", "auto", "--threads", str(threads), "--repeats", "3", "--json"]
            + (["--limit-base", str(a.points)] if a.points < 100_000 else []),
            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        emit(kind="embedded", threads=threads, qps=r["qps"], recall=r["recall"], segments=r["segments"],
             memtable_points=r.get("memtable_points"))
    if not a.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
