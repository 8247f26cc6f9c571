#!/usr/bin/env bash
# The recall test: loads ../shared/data/dev (100,000 real 384-dim sentence embeddings, 1,000
# queries, exact ground truth) through the engine with `hsdb bench search` (release build of
# `hsdb-bench`, the same command without the server linked in, so the build stays short),
# twice: flushed into segments, and left in a memtable (as fresh data is); fails unless
# recall@10 at the default search settings is at least 0.95 in both.
# Skipped, saying why, when the data set is not there.
set -euo pipefail
cd "$(dirname "$0")/.."
# The data set: $HSDB_DATA_SET, else beside the checkout (../shared/data/dev), else where these
# machines keep it (/work/shared/data/dev).
data=""
for candidate in "${HSDB_DATA_SET:-}" ../shared/data/dev /work/shared/data/dev; do
  if [ -n "$candidate" ] && [ -f "$candidate/base.f16" ] && [ -f "$candidate/query.fvecs" ] && [ -f "$candidate/gt.ivecs" ]; then
    data=$candidate
    break
  fi
done
if [ -z "$data" ]; then
  echo "recall test SKIPPED: the data set is not in \$HSDB_DATA_SET, ../shared/data/dev or /work/shared/data/dev" >&2
  exit 0
fi
swift build -c release --product hsdb-bench 2>&1 | tail -1
for layout in flushed memtable; do
  extra=()
  [ "$layout" = memtable ] && extra=(--layout fresh --memtable-mb 1024)
  result=$(.build/release/hsdb-bench search --base "$data/base.f16" --dim 384 --queries "$data/query.fvecs" \
    --truth "$data/gt.ivecs" --metric cosine --k 10 --ef 0 --oversampling auto --json "${extra[@]}")
  echo "$result"
  python3 - "$result" "$layout" <<'PY'
import json, sys
r = json.loads(sys.argv[1].strip().splitlines()[-1])
ok = r["recall"] >= 0.95
where = f"{r['segments']} segment(s), {r['memtable_points']} point(s) in memtables"
print(f"recall test ({sys.argv[2]}): recall@10 = {r['recall']:.4f} at default settings over {where}: {'ok' if ok else 'FAILED (< 0.95)'}")
sys.exit(0 if ok else 1)
PY
done
