#!/usr/bin/env bash
# The HTTP API tested with the real clients: creates a Python environment in
# .build/python-venv with the pinned qdrant-client and langchain-qdrant from PyPI (once; again
# when Tests/python/requirements.txt changes), then runs pytest against real `hsdb serve`
# processes (HSDB_BINARY, by default the debug build). Arguments go to pytest (default: Tests/python).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/python-venv
stamp="$venv/.requirements-$(sha256sum Tests/python/requirements.txt | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "creating $venv (qdrant-client, langchain-qdrant, pytest from PyPI)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r Tests/python/requirements.txt
  touch "$stamp"
fi
export HSDB_BINARY="${HSDB_BINARY:-$PWD/.build/debug/hsdb}"
[ -x "$HSDB_BINARY" ] || swift build --product hsdb
[ $# -gt 0 ] || set -- Tests/python
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
