#!/usr/bin/env bash
# The whole test suite: unit, recovery, fault-injection, model, SIGKILL crash and example
# tests, then the HTTP API with the real qdrant-client and LangChain (pytest), then the recall
# test on the real data set (release build).
# HSDB_CRASH_ROUNDS=N raises the number of SIGKILL rounds of the crash test (default 50).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
swift test --skip-build
scripts/python-tests.sh
scripts/recall-test.sh
