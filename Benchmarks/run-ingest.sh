#!/usr/bin/env bash
# Runs hsdb's ingest and recovery benchmarks and, in the same run, the peers: walbench (the
# ideal WAL in C, ../../shared/bench/walbench.c) and SQLite (WAL, synchronous=FULL). Writes the
# raw JSON to results/ and the tables to RESULTS.md (section "Ingest and recovery").
# Usage: ./run-ingest.sh [SECONDS_PER_CONFIG]   (default 3; the full run takes about 6 minutes)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-3}
shared=${HSDB_SHARED:-../../shared}
work=${TMPDIR:-/tmp}/hsdb-bench-$$
mkdir -p "$work" results .deps
ln -sfn ../.. .deps/hsdb
../scripts/deps.sh
swift build -c release -Xswiftc -target-cpu -Xswiftc haswell --product IngestBench 2>&1 | tail -1
gcc -O2 -march=native -pthread -o "$work/walbench" "$shared/bench/walbench.c"
out=results/ingest-$(date -u +%Y%m%dT%H%M%SZ).jsonl
{
  echo "{\"kind\":\"machine\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"cores\":$(nproc),\"kernel\":\"$(uname -r)\",\"date\":\"$(date -u +%FT%TZ)\"}"
  for cfg in "1 1 1" "64 1 64" "4 256 512" "16 16 64"; do
    set -- $cfg
    line=$("$work/walbench" bench "$work/wal.test" -n "$1" -w "$2" -b "$3" -r 1600 -t "$seconds" -m append -s fdatasync)
    rm -f "$work/wal.test"
    echo "{\"kind\":\"walbench\",\"n\":$1,\"w\":$2,\"b\":$3,\"line\":\"$line\"}"
  done
  .build/release/IngestBench --base "$shared/data/dev/base.f16" --dir "$work/hsdb" --seconds "$seconds" --recovery-mb 1024
  "$work/walbench" gen "$work/wal1g" 1073741824 >/dev/null
  line=$("$work/walbench" scan "$work/wal1g")
  rm -f "$work/wal1g"
  echo "{\"kind\":\"walscan\",\"line\":\"$line\"}"
  python3 sqlite_peer.py --dir "$work" --seconds "$seconds"
} | tee "$out"
rm -rf "$work"
python3 report.py "$out"
