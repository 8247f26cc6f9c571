#!/usr/bin/env bash
# hsdb's fuzz targets, with libFuzzer and AddressSanitizer.
#   Fuzz/run.sh                    prints the target names, one per line
#   Fuzz/run.sh NAME SECONDS       builds and fuzzes NAME for SECONDS; exits non-zero on a finding
# The corpus grows in Fuzz/corpus/NAME (commit only small, interesting seeds); findings are
# written to Fuzz/findings/. Run for hours: Fuzz/run.sh wal-recovery 36000
set -euo pipefail
cd "$(dirname "$0")"
targets=(grpc-request manifest payload-codec rest-request segment-reader wal-recovery)
if [ $# -eq 0 ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
name=$1 seconds=${2:?usage: Fuzz/run.sh NAME SECONDS}
[[ " ${targets[*]} " == *" $name "* ]] || { echo "unknown target '$name'; targets: ${targets[*]}" >&2; exit 2; }
../scripts/deps.sh
mkdir -p .deps findings "corpus/$name"
ln -sfn ../.. .deps/hsdb
swift build -c debug --product FuzzDriver -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -v "Cannot export local symbol" | tail -1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "corpus/$name/." "$work/"   # new inputs go to a scratch copy, so a run leaves the tree clean
HSDB_FUZZ_TARGET=$name HSDB_FUZZ_WRITE_SEEDS=$work .build/debug/FuzzDriver  # seeds made by the real writers
HSDB_FUZZ_TARGET=$name ASAN_OPTIONS=detect_leaks=0 .build/debug/FuzzDriver \
  -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="findings/$name-" "$work" "corpus/$name"
