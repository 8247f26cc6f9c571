#!/usr/bin/env bash
# The HTTP API tested with the real clients: creates a Python environment in
# .build/python-venv with the pinned qdrant-client, langchain-qdrant and the rest from PyPI (once;
# again when Tests/python/requirements*.txt change), then runs pytest against real `hsdb serve`
# processes (HSDB_BINARY, by default the debug build). Arguments go to pytest (default: Tests/python).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/python-venv
stamp="$venv/.requirements-$(cat Tests/python/requirements.txt Tests/python/requirements-no-deps.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "creating $venv (qdrant-client, langchain-qdrant, pytest from PyPI)" >&2
  rm -rf "$venv"
  command -v python3 >/dev/null || { echo "python3 is needed for the HTTP API tests" >&2; exit 1; }
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    echo "installing python3-venv with apt-get" >&2
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r Tests/python/requirements.txt
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r Tests/python/requirements-no-deps.txt
  touch "$stamp"
fi
export HSDB_BINARY="${HSDB_BINARY:-$PWD/.build/debug/hsdb}"
[ -x "$HSDB_BINARY" ] || swift build --product hsdb
[ $# -gt 0 ] || set -- Tests/python
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
