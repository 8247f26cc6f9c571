#!/usr/bin/env bash
# The gRPC API's overhead (Qdrant's, port 6334): query and upsert throughput of `hsdb serve` over
# gRPC with 1 and 16 concurrent clients (GRPCBench, a connection per client, on the same
# machine), next to the same work over REST (wrk, as run-http.sh) and through the embedded API
# (`hsdb bench search` on the same database files; IngestBench) in the same run.
# Writes results/grpc-<time>.jsonl and prints the RESULTS.md section "gRPC API".
# Usage: ./run-grpc.sh [SECONDS_PER_CONFIG]   (default 10; needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-10}
shared=${HSDB_SHARED:-../../shared}
data="$shared/data/dev"
work=${TMPDIR:-/tmp}/hsdb-grpc-bench-$$
mkdir -p "$work" results .deps
ln -sfn ../.. .deps/hsdb
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
../scripts/deps.sh
(cd .. && swift build -c release -Xswiftc -target-cpu -Xswiftc haswell --product hsdb 2>&1 | tail -1)
for p in IngestBench GRPCBench; do swift build -c release -Xswiftc -target-cpu -Xswiftc haswell --product $p 2>&1 | tail -1; done
hsdb=../.build/release/hsdb
python3 http/make_bodies.py "$data" "$work" >&2
out=results/grpc-$(date -u +%Y%m%dT%H%M%SZ).jsonl
{
  echo "{\"kind\":\"machine\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"cores\":$(nproc),\"kernel\":\"$(uname -r)\",\"date\":\"$(date -u +%FT%TZ)\"}"
  for threads in 1 2; do
    "$hsdb" bench search --base "$data/base.f16" --dim 384 --queries "$data/query.fvecs" --truth "$data/gt.ivecs" \
      --ef 0 --threads "$threads" --database "$work/db" --json | sed 's/^{/{"kind":"embedded_query",/'
  done
  # A memtable large enough that no flush runs during the upserts (as IngestBench): the write path.
  "$hsdb" serve --data "$work/db" --port 0 --grpc-port 0 --memtable-mb 4096 > "$work/serve.out" 2> "$work/serve.log" &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  until grep -q "gRPC on" "$work/serve.out" 2>/dev/null && grep -q listening "$work/serve.out"; do sleep 0.2; done
  url=$(grep listening "$work/serve.out" | awk '{print $4}')
  grpc=$(grep "gRPC on" "$work/serve.out" | awk -F: '{print $NF}')
  cpu() { awk '{print $14 + $15}' /proc/$server/stat; }   # the server's CPU so far, in ticks
  tck=$(getconf CLK_TCK)
  for clients in 1 16; do
    for kind in query upsert upsert64; do
      curl -sf -X DELETE "$url/collections/ingest" >/dev/null || true
      curl -sf -X PUT "$url/collections/ingest" -H 'content-type: application/json' -d '{"vectors":{"size":384,"distance":"Cosine"}}' >/dev/null
      threads=$(( clients < 2 ? 1 : 2 ))
      before=$(cpu)
      wrk -t"$threads" -c"$clients" -d"${seconds}s" -s "$work/$kind.lua" "$url" > "$work/wrk.txt"
      used=$(( $(cpu) - before ))
      rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
      echo "{\"kind\":\"http_$kind\",\"clients\":$clients,\"requests_per_s\":$rps,\"server_cpu_s\":$(awk -v u="$used" -v t="$tck" 'BEGIN { printf "%.3f", u / t }'),\"wrk\":$(tail -1 "$work/wrk.txt")}"
      curl -sf -X DELETE "$url/collections/ingest" >/dev/null || true
      curl -sf -X PUT "$url/collections/ingest" -H 'content-type: application/json' -d '{"vectors":{"size":384,"distance":"Cosine"}}' >/dev/null
      before=$(cpu)
      line=$(.build/release/GRPCBench --port "$grpc" --base "$data/base.f16" --queries "$data/query.fvecs" --work "$kind" \
        --clients "$clients" --seconds "$seconds")
      used=$(( $(cpu) - before ))
      echo "${line%\}},\"server_cpu_s\":$(awk -v u="$used" -v t="$tck" 'BEGIN { printf "%.3f", u / t }')}"
    done
  done
  kill -TERM $server; wait $server || true
  .build/release/IngestBench --base "$data/base.f16" --dir "$work/ingest" --seconds "$seconds" --batches 1,64 --writers 1,16 --modes fsync --recovery-mb 0
} | tee "$out"
rm -rf "$work"
python3 report_grpc.py "$out"
