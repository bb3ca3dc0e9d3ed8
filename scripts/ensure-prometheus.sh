#!/usr/bin/env bash
# Install Debian's prometheus package (it ships promtool) when prometheus or promtool is missing.
set -euo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then exit 0; fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing prometheus (Debian package, ships promtool)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # the package tries to start a service and fails harmlessly without systemd
  apt-get install -y -qq prometheus >/dev/null || true
  command -v prometheus >/dev/null && command -v promtool >/dev/null && exit 0
fi
echo "Prometheus is not installed: run 'sudo apt-get install prometheus' (Debian/Ubuntu) or put prometheus and promtool (https://prometheus.io/download/) on PATH" >&2
exit 1
