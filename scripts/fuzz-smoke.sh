#!/usr/bin/env bash
# Runs every fuzz target briefly (libFuzzer + AddressSanitizer; Fuzz/run.sh builds once, then
# each target runs for SECONDS, default 15). Prints one line per target with its executions;
# on a finding, prints the end of the log and the reproducer's path and fails.
# For hours of fuzzing, run one target: Fuzz/run.sh NAME 36000
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
logs=.build/fuzz-logs
mkdir -p "$logs"
for target in $(Fuzz/run.sh); do
  log="$logs/$target.log"
  if ! Fuzz/run.sh "$target" "$seconds" >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz target $target: FINDING (full log: $log; reproducer in Fuzz/findings/)" >&2
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [ -n "$execs" ] || { tail -20 "$log" >&2; echo "fuzz target $target: no statistics in $log" >&2; exit 1; }
  echo "fuzz target $target: $execs executions in ${seconds} s ($rate/s), no findings"
done
