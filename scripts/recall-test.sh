#!/usr/bin/env bash
# The recall test: loads ../shared/data/dev (100,000 real 384-dim sentence embeddings, 1,000
# queries, exact ground truth) through the engine with `hsdb bench search` (release build),
# and fails unless recall@10 at the default search settings is at least 0.95.
# Skipped, saying why, when the data set is not there.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${HSDB_DATA_SET:-../shared/data/dev}
if [ ! -f "$data/base.f16" ] || [ ! -f "$data/query.fvecs" ] || [ ! -f "$data/gt.ivecs" ]; then
  echo "recall test SKIPPED: the data set is not at $data (set HSDB_DATA_SET to its folder)" >&2
  exit 0
fi
swift build -c release --product hsdb 2>&1 | tail -1
result=$(.build/release/hsdb bench search --base "$data/base.f16" --dim 384 --queries "$data/query.fvecs" \
  --truth "$data/gt.ivecs" --metric cosine --k 10 --ef 0 --oversampling auto --json)
echo "$result"
python3 - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1].strip().splitlines()[-1])
ok = r["recall"] >= 0.95
print(f"recall test: recall@10 = {r['recall']:.4f} at default settings over {r['segments']} segment(s): {'ok' if ok else 'FAILED (< 0.95)'}")
sys.exit(0 if ok else 1)
PY
