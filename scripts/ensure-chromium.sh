#!/usr/bin/env bash
# Make headless Chromium available for the browser tests: install Debian's chromium package when
# /usr/bin/chromium is missing (Playwright drives it through executable_path; we never download a
# browser build with `playwright install`). Fails loudly: the browser tests are never skipped.
set -euo pipefail
CHROMIUM=${WORKBENCH_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then exit 0; fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing chromium (Debian package)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "Chromium is not installed at $CHROMIUM: run 'sudo apt-get install chromium', or set WORKBENCH_CHROMIUM to a Chromium binary" >&2
  exit 1
fi
echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
