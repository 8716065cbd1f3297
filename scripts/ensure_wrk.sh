#!/usr/bin/env bash
# `make bench` measures the HTTP figures (polling, admission, scale) with wrk, Debian's
# package. This installs it with apt-get when it is missing and we are root; otherwise
# it says so (bench/web.py then uses its own Python load client where it can, and
# the admission figure, which needs wrk's Lua script, is skipped with the reason).
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_wrk: wrk is missing and cannot be installed here (as root: apt-get install wrk)."
  exit 0
fi
echo "ensure_wrk: installing Debian's wrk for the HTTP benchmarks..."
log=$(mktemp)
if apt-get update -qq >"$log" 2>&1 &&
   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >>"$log" 2>&1; then
  echo "ensure_wrk: installed $(wrk -v 2>&1 | head -n 1)."
else
  echo "ensure_wrk: apt-get could not install wrk. Last lines:"
  tail -n 5 "$log"
fi
rm -f "$log"
exit 0
