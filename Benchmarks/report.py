#!/usr/bin/env python3
"""Turns one run-ingest.sh result file (JSON lines) into the markdown tables of RESULTS.md,
with every ratio taken between figures of that same run."""
import json, re, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
machine = next(r for r in rows if r["kind"] == "machine")
ingest = [r for r in rows if r["kind"] == "ingest"]
sqlite = {(r["batch"], r["writers"]): r for r in rows if r["kind"] == "sqlite"}
recovery = next((r for r in rows if r["kind"] == "recovery"), None)
walbench = {}
for r in rows:
    if r["kind"] == "walbench":
        m = re.search(r": (\d+) rec/s ([\d.]+) MB/s mean_batch=([\d.]+)", r["line"])
        walbench[(r["n"], r["w"], r["b"])] = {"rec": float(m.group(1)), "mb": float(m.group(2)), "batch": float(m.group(3))}
walscan = next((float(re.search(r"= (\d+) MB/s", r["line"]).group(1)) for r in rows if r["kind"] == "walscan"), None)

def get(mode, batch, writers):
    return next((r for r in ingest if r["mode"] == mode and r["batch"] == batch and r["writers"] == writers), None)

out = []
out.append(f"Machine: {machine['cpu']}, {machine['cores']} cores, kernel {machine['kernel']}; run {machine['date']} "
           f"(`Benchmarks/run-ingest.sh`, raw data in `Benchmarks/{sys.argv[1]}`). Points are 384-dim float32 "
           f"vectors from ../shared/data (cosine collection, empty payloads, about 1.55 KB of WAL each); SQLite rows are "
           f"16 B keys + 1,536 B values.\n")
for mode in ("fsync", "none"):
    out.append(f"### Upserts, durability `{mode}`\n")
    head = "| points per upsert | writers | hsdb points/s | hsdb WAL MB/s | records per fdatasync | p50 / p99 ms |"
    if mode == "fsync":
        head += " SQLite rows/s (WAL, synchronous=FULL) | hsdb / SQLite |"
    out.append(head)
    out.append("|" + "---|" * (head.count("|") - 1))
    for r in sorted((r for r in ingest if r["mode"] == mode), key=lambda r: (r["batch"], r["writers"])):
        line = (f"| {r['batch']} | {r['writers']} | {r['points_per_s']:,.0f} | {r['wal_mb_per_s']:,.1f} | "
                f"{r['records_per_sync']:.1f} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} |")
        if mode == "fsync":
            s = sqlite.get((r["batch"], r["writers"]))
            line += f" {s['rows_per_s']:,.0f} | {r['points_per_s'] / s['rows_per_s']:.1f}x |" if s else " - | - |"
        out.append(line)
    out.append("")

out.append("### walbench (the ideal WAL in C, same run; 1,616 B records, appending file, fdatasync)\n")
out.append("| writers x in flight, batch <= | records/s | MB/s | mean batch |")
out.append("|---|---|---|---|")
for (n, w, b), v in walbench.items():
    out.append(f"| {n} x {w}, {b} | {v['rec']:,.0f} | {v['mb']:,.1f} | {v['batch']:.1f} |")
out.append("")

out.append("### Targets of the engine-core issue (ratios within this run)\n")
out.append("| target | hsdb | reference | ratio | met |")
out.append("|---|---|---|---|---|")
def row(name, ours, ref, ratio, goal):
    out.append(f"| {name} | {ours} | {ref} | {ratio:.2f} | {'yes' if ratio >= goal else 'no'} (>= {goal}) |")
one, many = get("fsync", 1, 1), get("fsync", 1, 64)
if one and many:
    wb1, wb64 = walbench.get((1, 1, 1)), walbench.get((64, 1, 64))
    ref = f"walbench's own ratio: {wb64['rec'] / wb1['rec']:.1f}x" if wb1 and wb64 else "-"
    row("64 single-point writers vs 1 writer, commits/s", f"{many['upserts_per_s']:,.0f} vs {one['upserts_per_s']:,.0f}", ref,
        many["upserts_per_s"] / one["upserts_per_s"], 20)
    if wb64:
        row("64 single-point writers vs walbench -n 64 -w 1 -b 64, records/s", f"{many['upserts_per_s']:,.0f}", f"{wb64['rec']:,.0f}",
            many["upserts_per_s"] / wb64["rec"], 0.5)
    s64 = sqlite.get((1, 64))
    if s64:
        row("64 single-point writers vs SQLite with 64 writers", f"{many['points_per_s']:,.0f}", f"{s64['rows_per_s']:,.0f}",
            many["points_per_s"] / s64["rows_per_s"], 10)
bulk = [r for r in ingest if r["mode"] == "fsync" and r["batch"] == 1024]
wbb = walbench.get((4, 256, 512))
if bulk and wbb:
    best = max(bulk, key=lambda r: r["wal_mb_per_s"])
    row(f"bulk upserts of 1024 points (best: {best['writers']} writers) vs walbench -n 4 -w 256 -b 512, MB/s",
        f"{best['wal_mb_per_s']:,.0f}", f"{wbb['mb']:,.0f}", best["wal_mb_per_s"] / wbb["mb"], 0.5)
if recovery and walscan:
    row(f"recovery: WAL replay into a usable database ({recovery['wal_bytes'] / 1e6:,.0f} MB, warm), MB/s",
        f"{recovery['mb_per_s']:,.0f} ({recovery['points_per_s']:,.0f} points/s)", f"walbench scan (warm) {walscan:,.0f}",
        recovery["mb_per_s"] / walscan, 0.2)
out.append("")

text = "\n".join(out)
results = "RESULTS.md"
try:
    existing = open(results).read()
except FileNotFoundError:
    existing = "# hsdb benchmark results\n\nEvery figure below comes from one run of the script named in its section, with the peers measured in the same run.\n"
begin, end = "<!-- ingest:begin -->", "<!-- ingest:end -->"
section = f"{begin}\n## Ingest and recovery\n\n{text}\n{end}"
if begin in existing:
    existing = existing[:existing.index(begin)] + section + existing[existing.index(end) + len(end):]
else:
    existing = existing.rstrip() + "\n\n" + section + "\n"
open(results, "w").write(existing)
print(text)
