#!/usr/bin/env bash
# Make Debian's redis-server available (the Celery broker of tests/distributed): install the package
# when the binary is missing. The tests start their own server on a free loopback port and always
# stop it; the service the package may try to start at install time is not used. Fails loudly.
set -euo pipefail
if ! command -v redis-server >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing redis-server (Debian package)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq redis-server >/dev/null || true
  fi
fi
if ! command -v redis-server >/dev/null; then
  echo "redis-server is not installed: run 'sudo apt-get install redis-server'" >&2
  exit 1
fi
echo "$(redis-server --version | cut -d' ' -f1-3) at $(command -v redis-server)"
