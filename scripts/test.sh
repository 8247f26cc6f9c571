#!/usr/bin/env bash
# The whole test suite: unit, recovery, disk-fault, power-loss, corruption, model, SIGKILL
# crash and example tests; the HTTP API with the real qdrant-client and LangChain and the API
# abuse loop (pytest); every fuzz target for 15 s (libFuzzer + ASan); the recall test on the
# real data set (release build). README "Testing" lists the knobs for longer runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
swift test --skip-build
scripts/python-tests.sh
scripts/fuzz-smoke.sh 15
scripts/recall-test.sh
