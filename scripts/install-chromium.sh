#!/usr/bin/env bash
# Chromium for the browser tests (Playwright drives the system's Chromium: it cannot
# download its own browsers here). Prints the executable's path.
set -euo pipefail
for candidate in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "installing Chromium from the system packages" >&2
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "cannot install Chromium (needs root and apt-get): install it and set CHROMIUM=/path" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
echo /usr/bin/chromium
