"""Turns a results/grpc-*.jsonl run into the RESULTS.md section "gRPC API"."""
import json
import re
import sys

path = sys.argv[1]
rows = [json.loads(l) for l in open(path) if l.startswith("{")]
machine = next(r for r in rows if r["kind"] == "machine")
emb_q = {r["threads"]: r for r in rows if r["kind"] == "embedded_query"}
emb = {(r["batch"], r["writers"]): r for r in rows if r["kind"] == "ingest"}


def by(kind):
    return {r["clients"]: r for r in rows if r["kind"] == kind}


lines = [
    "## gRPC API (`run-grpc.sh`)",
    "",
    f"Machine: {machine['cpu']}, {machine['cores']} cores, kernel {machine['kernel']}; run {machine['date']} "
    f"(`{path}`). `hsdb serve` (release) on loopback, its gRPC port driven by GRPCBench (grpc-swift 2, a "
    "connection per client, real 384-dim vectors as float32) and its REST port by wrk, one after the other, all on "
    "the same 2 cores as the server. Embedded: the same work through `import HSDB` in the same run (the same "
    "searches on the same files; IngestBench's upserts with fsync durability).",
    "",
    "| work | clients | gRPC ops/s | gRPC p50 / p99 ms | REST ops/s | embedded ops/s | gRPC / REST | gRPC / embedded | server CPU ms per call, gRPC / REST |",
    "|---|---|---|---|---|---|---|---|---|",
]
for kind, label, unit in [("query", "query, limit 10, default ef", "requests_per_s"),
                          ("upsert", "upsert one point, wait=true", "requests_per_s"),
                          ("upsert64", "upsert 64 points per request, wait=true (points/s)", "points_per_s")]:
    g, h = by("grpc_" + kind), by("http_" + kind)
    for clients in (1, 16):
        if clients not in g or clients not in h:
            continue
        grpc = g[clients][unit]
        rest = h[clients]["requests_per_s"] * (64 if kind == "upsert64" else 1)
        if kind == "query":
            e = emb_q.get(1 if clients == 1 else 2)
            embedded, note = (e["qps"], f" ({1 if clients == 1 else 2} threads)") if e else (None, "")
        else:
            e = emb.get((64 if kind == "upsert64" else 1, clients))
            embedded = e and (e["points_per_s"] if kind == "upsert64" else e["upserts_per_s"])
            note = f" ({clients} writers)"
        ratio = f"{grpc / embedded:.2f}" if embedded else "-"
        calls = lambda r, rate: r.get("server_cpu_s", 0) * 1e3 / max(1, rate * r.get("seconds", r.get("wrk", {}).get("seconds", 1)))
        cpu = f"{calls(g[clients], g[clients]['requests_per_s']):.2f} / {calls(h[clients], h[clients]['requests_per_s']):.2f}"
        lines.append(f"| {label} | {clients} | {grpc:,.0f} | {g[clients]['p50_ms']:.2f} / {g[clients]['p99_ms']:.2f} | "
                     f"{rest:,.0f} | {embedded:,.0f}{note} | {grpc / rest:.2f} | {ratio} | {cpu} |")
errors = sum(r["errors"] for r in rows if r["kind"].startswith("grpc_"))
http_errors = sum(r["wrk"]["errors"] + r["wrk"]["non2xx"] for r in rows if r["kind"].startswith("http_"))
lines += ["", f"Failed gRPC calls in the run: {errors}; failed or non-2xx REST responses: {http_errors}. The machine is "
          "a shared 2-core VM: compare ratios within one run.", ""]
section = "\n".join(lines)

results = open("RESULTS.md").read()
pattern = re.compile(r"## gRPC API \(`run-grpc.sh`\).*?(?=\n## |\Z)", re.S)
results = pattern.sub(section.rstrip() + "\n", results) if pattern.search(results) else results.rstrip() + "\n\n" + section
open("RESULTS.md", "w").write(results)
print(section)
