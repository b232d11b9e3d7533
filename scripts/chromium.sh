#!/usr/bin/env bash
# Make sure Debian's Chromium is installed (the browser tests drive it with Playwright;
# no browser download from the internet). Prints the browser's path.
set -euo pipefail
for candidate in "${RENOWN_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing Debian's chromium for the browser tests ..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q chromium >&2 || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q chromium >&2; }
echo /usr/bin/chromium
