#!/usr/bin/env bash
# Builds hsdb (release) and starts `hsdb serve` on ./hsdb-data (override with HSDB_DATA);
# extra arguments go to `hsdb serve` (see `hsdb serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build -c release --product hsdb
# `GET /` reports the source revision as `commit`, as Qdrant does.
HSDB_COMMIT="${HSDB_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}" \
  exec .build/release/hsdb serve --data "${HSDB_DATA:-./hsdb-data}" "$@"
