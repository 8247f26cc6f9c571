#!/usr/bin/env bash
# The HTTP API's overhead: query and upsert throughput of `hsdb serve` on loopback with 1 and 16
# concurrent clients (wrk, on the same machine), next to the same work through the embedded
# API in the same run (`hsdb bench search` on the same database files; IngestBench for
# one-point upserts), and the JSON decoding of a 384-dim upsert body (JSONBench). Writes results/http-<time>.jsonl and the RESULTS.md section "HTTP API".
# Usage: ./run-http.sh [SECONDS_PER_CONFIG]   (default 10; needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-10}
shared=${HSDB_SHARED:-../../shared}
data="$shared/data/dev"
work=${TMPDIR:-/tmp}/hsdb-http-bench-$$
mkdir -p "$work" results .deps
ln -sfn ../.. .deps/hsdb
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
../scripts/deps.sh
(cd .. && swift build -c release -Xswiftc -target-cpu -Xswiftc haswell --product hsdb 2>&1 | tail -1)
swift build -c release -Xswiftc -target-cpu -Xswiftc haswell --product IngestBench 2>&1 | tail -1
swift build -c release -Xswiftc -target-cpu -Xswiftc haswell --product JSONBench 2>&1 | tail -1
hsdb=../.build/release/hsdb
python3 http/make_bodies.py "$data" "$work" >&2
out=results/http-$(date -u +%Y%m%dT%H%M%SZ).jsonl
{
  echo "{\"kind\":\"machine\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"cores\":$(nproc),\"kernel\":\"$(uname -r)\",\"date\":\"$(date -u +%FT%TZ)\"}"
  # Embedded search over the database both paths use (loaded once, one segment per tier as the engine leaves it).
  for threads in 1 2; do
    "$hsdb" bench search --base "$data/base.f16" --dim 384 --queries "$data/query.fvecs" --truth "$data/gt.ivecs" \
      --ef 0 --threads "$threads" --database "$work/db" --json | sed 's/^{/{"kind":"embedded_query",/'
  done
  # A memtable large enough that no flush (graph build) runs during the upserts: as in
  # IngestBench, this measures the write path, not indexing.
  "$hsdb" serve --data "$work/db" --port 0 --memtable-mb 4096 > "$work/serve.out" 2> "$work/serve.log" &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  until grep -q listening "$work/serve.out" 2>/dev/null; do sleep 0.2; done
  url=$(awk '{print $4}' "$work/serve.out")
  curl -sf -X PUT "$url/collections/ingest" -H 'content-type: application/json' -d '{"vectors":{"size":384,"distance":"Cosine"}}' >/dev/null
  for cfg in "1 1" "2 16"; do
    set -- $cfg
    for kind in query upsert upsert64; do
      wrk -t"$1" -c"$2" -d"${seconds}s" -s "$work/$kind.lua" "$url" > "$work/wrk.txt"
      rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
      echo "{\"kind\":\"http_$kind\",\"clients\":$2,\"requests_per_s\":$rps,\"wrk\":$(tail -1 "$work/wrk.txt")}"
    done
  done
  kill -TERM $server; wait $server || true
  .build/release/IngestBench --base "$data/base.f16" --dir "$work/ingest" --seconds "$seconds" --batches 1,64 --writers 1,16 --modes fsync --recovery-mb 0
  .build/release/JSONBench --base "$data/base.f16" | sed 's/^{/{"kind":"json_decode",/'
} | tee "$out"
rm -rf "$work"
python3 report_http.py "$out"
