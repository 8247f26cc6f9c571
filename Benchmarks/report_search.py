"""Writes the "Search" section of RESULTS.md and search-recall-qps.png from one run of
run-search.sh (hsdb bench search JSON lines + peers.py results.json)."""
import glob
import json
import os
import re
import sys

TARGETS = (0.90, 0.95, 0.99)


def load_hsdb(path):
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")]


def hsdb_points(rows):
    """Operating points: for each target, the fastest setting reaching it."""
    ops = {}
    for t in TARGETS:
        ok = [r for r in rows if r["recall"] >= t]
        ops[t] = max(ok, key=lambda r: r["qps"]) if ok else None
    return ops


def setting(r):
    o = str(r["oversampling"])
    trav = "exact traversal" if o == "0" else ("default traversal" if o == "auto" else f"binary x{o}")
    return f"ef {r['ef'] or 'default'}, {trav}"


def cell(op, label):
    if not op:
        return "not reached"
    return f"{op['qps']:,.0f} ({label(op)}; p99 {op['p99_ms']:.2f} ms)"


def main(out):
    machine = json.load(open(os.path.join(out, "machine.json")))
    hsdb = {name: load_hsdb(os.path.join(out, f"hsdb-{name}.jsonl")) for name in ("single-t1", "single-t2", "engine-t1")}
    peers = json.load(open(os.path.join(out, "peers", "results.json")))["results"]
    rows = []
    titles = {"single-t1": "hsdb, one segment, 1 search thread", "single-t2": "hsdb, one segment, 2 search threads",
              "engine-t1": "hsdb, segments as the engine left them, 1 thread"}
    for name, data in hsdb.items():
        if not data:
            continue
        ops = hsdb_points(data)
        r0 = data[0]
        rows.append([titles[name] + f" ({r0['segments']} segment(s))"] + [cell(ops[t], setting) for t in TARGETS] +
                    [f"{r0['build_s']:.0f}", f"{r0['rss_anon_bytes'] / 1e6:.0f}", f"{r0['segment_bytes'] / 1e6:.0f} (+WAL {(r0['disk_bytes'] - r0['segment_bytes']) / 1e6:.0f})"])
    for p in peers:
        if "error" in p:
            rows.append([p["peer"], f"error: {p['error'][:60]}", "", "", "", "", ""])
            continue
        ops = {t: p["operating_points"].get(str(t)) for t in TARGETS}
        builds = {b["threads"]: b for b in p["builds"]}
        b1 = builds.get(1, next(iter(builds.values())))
        rows.append([p["peer"] + ", 1 search thread"] + [cell(ops[t], lambda s: f"{p['sweep_name']} {s['param']}") for t in TARGETS] +
                    [f"{b1['wall_s']:.0f}" + (f" / {builds[2]['wall_s']:.0f} (2 thr)" if 2 in builds else ""),
                     f"{max(b['rss_growth_mb'] for b in p['builds']):.0f}", f"{p['disk_bytes'] / 1e6:.0f}"])
    lines = [
        "## Search", "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores; run {machine['date']} (`Benchmarks/run-search.sh`, raw data in "
        f"`Benchmarks/{os.path.relpath(out, os.path.dirname(os.path.abspath(__file__)))}`). Data: ../shared/data/dev, 100,000 x 384 "
        "sentence embeddings, 1,000 queries, cosine, k=10, HNSW M=16 ef_construction=200 everywhere. QPS is wall-clock "
        "queries per second (peers: the `qps` of peers.py, also wall-clock), one query at a time per thread; recall counts ties "
        "as peers.py does. hsdb's build time is the whole load through the engine (upserts, flushes, graph builds on 2 threads, "
        "compaction); its memory is the process's RssAnon after reopening (segments are mapped files, not anonymous memory); "
        "peers' memory is their index's RSS growth.", "",
        "| system | QPS @ recall 0.90 | QPS @ 0.95 | QPS @ 0.99 | build s | memory MB | disk MB |",
        "|---|---|---|---|---|---|---|",
    ] + ["| " + " | ".join(r) + " |" for r in rows] + ["", "![recall versus QPS](search-recall-qps.png)", ""]
    section = "\n".join(lines)
    results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    text = open(results).read() if os.path.exists(results) else "# hsdb benchmark results\n"
    block = "<!-- search:begin -->\n" + section + "<!-- search:end -->"
    text = re.sub(r"<!-- search:begin -->.*<!-- search:end -->", lambda _: block, text, flags=re.S) if "<!-- search:begin -->" in text else text.rstrip() + "\n\n" + block + "\n"
    open(results, "w").write(text)
    print(section)
    plot(hsdb, peers, os.path.join(os.path.dirname(results), "search-recall-qps.png"))


def frontier(points):
    """Pareto front (recall up, QPS up), as ann-benchmarks draws it."""
    best, front = -1, []
    for recall, qps in sorted(points, key=lambda p: (-p[1], -p[0])):
        if recall > best:
            front.append((recall, qps))
            best = recall
    return sorted(front)


def plot(hsdb, peers, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, data in hsdb.items():
        if data:
            f = frontier([(r["recall"], r["qps"]) for r in data])
            ax.plot([p[0] for p in f], [p[1] for p in f], marker="o", linewidth=2, label=f"hsdb ({name})")
    for p in peers:
        if "error" not in p:
            f = frontier([(s["recall"], s["qps"]) for s in p["sweep"]])
            ax.plot([x[0] for x in f], [x[1] for x in f], marker=".", linestyle="--", label=p["peer"])
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second (log)")
    ax.set_yscale("log")
    ax.set_xlim(0.85, 1.0)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("100K x 384 sentence embeddings, k=10 (up and right is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else sorted(glob.glob("results/search-*"))[-1])
