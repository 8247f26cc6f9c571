#!/usr/bin/env bash
# The whole test suite: unit, recovery, fault-injection, SIGKILL crash and example tests.
# HSDB_CRASH_ROUNDS=N raises the number of SIGKILL rounds of the crash test (default 50).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
swift test --skip-build
