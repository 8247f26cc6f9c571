#!/usr/bin/env bash
# Installs the C libraries hsdb links (liblz4, zlib) and etcd (the cluster tests start their
# own) when they are missing. Debian/Ubuntu.
set -euo pipefail
missing=()
for pkg in liblz4-dev zlib1g-dev pkg-config etcd-server; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6 (swift.org)" >&2; exit 1; }
