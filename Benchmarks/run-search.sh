#!/usr/bin/env bash
# Runs `hsdb bench search` and the peers (../../shared/bench/peers.py: hnswlib, faiss HNSW,
# faiss binary HNSW with rescoring, Qdrant's engine embedded with and without binary
# quantization) on ../../shared/data/dev, back to back, and writes the table into RESULTS.md
# (section "Search") and the recall-versus-QPS plot into search-recall-qps.png.
# Usage: ./run-search.sh   (about 25 minutes; needs the peers' venv, see ../../shared/bench/README.md,
#                           plus matplotlib: /tmp/peers-venv/bin/pip install matplotlib)
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
shared=$(cd "${HSDB_SHARED:-../../shared}" && pwd)
venv=${PEERS_VENV:-/tmp/peers-venv}
out=$here/results/search-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
../scripts/deps.sh
(cd .. && swift build -c release --product hsdb -Xswiftc -target-cpu -Xswiftc haswell 2>&1 | tail -1)
data=$shared/data/dev
bench=(../.build/release/hsdb bench search --base "$data/base.f16" --dim 384 --queries "$data/query.fvecs"
       --truth "$data/gt.ivecs" --json --ef 0,16,24,32,48,64,96,128,256 --oversampling auto,0,4,8,16)
echo "{\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"cores\":$(nproc),\"date\":\"$(date -u +%FT%TZ)\"}" > "$out/machine.json"
for threads in 1 2; do
  "${bench[@]}" --threads "$threads" --single-segment > "$out/hsdb-single-t$threads.jsonl"
done
"${bench[@]}" --threads 1 > "$out/hsdb-engine-t1.jsonl"
(cd "$shared/bench" && "$venv/bin/python" peers.py --data ../data/dev \
  --peers hnswlib,faiss-hnsw,faiss-binary-hnsw+center,qdrant-edge,qdrant-edge-bq \
  --build-threads 1,2 --out "$out/peers" --work /tmp/hsdb-peers/work)
"$venv/bin/python" report_search.py "$out"
