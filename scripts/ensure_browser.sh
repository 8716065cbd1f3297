#!/usr/bin/env bash
# The browser tests (tests/reports/test_editor_browser.py, tests/competitors/test_browser.py)
# drive Debian's Chromium (/usr/bin/chromium) through Playwright; they never download a
# browser (no `playwright install`). This installs it with apt-get when it is missing and
# we are root; otherwise it says why the browser tests will be skipped. Idempotent, and
# always exits 0: a machine without Chromium still runs every other test.
CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure_browser: $CHROMIUM is missing and this is not root: the browser tests will be skipped" \
       "(as root: apt-get install chromium)."
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_browser: $CHROMIUM is missing and there is no apt-get: the browser tests will be skipped."
  exit 0
fi
echo "ensure_browser: installing Debian's chromium for the browser tests..."
log=$(mktemp)
if apt-get update -qq >"$log" 2>&1 &&
   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >>"$log" 2>&1 &&
   [ -x "$CHROMIUM" ]; then
  echo "ensure_browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)."
else
  echo "ensure_browser: apt-get could not install chromium: the browser tests will be skipped. Last lines:"
  tail -n 5 "$log"
fi
rm -f "$log"
exit 0
